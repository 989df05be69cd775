"""Command line: ``wattprint devices | run | runs | show | timeline | report | suggest |
compare-runs | summary | esg | dashboard | monitor | job | verify | export | import |
intensity | zones | compare | settings``.

Bad input exits 2 with one line on stderr that says what to do instead.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from wattprint.errors import UsageError, WattprintError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (argparse prints the usage block, then exits 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


# command -> (module, the function that adds its parser, its handler). A command's module is
# imported only when that command runs (or for --help), so `wattprint run` loads no view code.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "devices": ("wattprint.cli.devices", "add_parser", "devices"),
    "run": ("wattprint.cli.run", "add_parser", "run"),
    "runs": ("wattprint.cli.views", "add_parsers", "runs"),
    "show": ("wattprint.cli.views", "add_parsers", "show"),
    "summary": ("wattprint.cli.views", "add_parsers", "summary"),
    "verify": ("wattprint.cli.records_cmds", "add_parsers", "verify"),
    "export": ("wattprint.cli.records_cmds", "add_parsers", "export"),
    "import": ("wattprint.cli.records_cmds", "add_parsers", "import_"),
    "intensity": ("wattprint.cli.carbon_cmds", "add_parsers", "intensity"),
    "zones": ("wattprint.cli.carbon_cmds", "add_parsers", "zones_"),
    "compare": ("wattprint.cli.carbon_cmds", "add_compare_parser", "compare"),
    "compare-runs": ("wattprint.cli.views", "add_parsers", "compare_runs"),
    "timeline": ("wattprint.cli.views", "add_parsers", "timeline"),
    "report": ("wattprint.cli.report_cmd", "add_parser", "report"),
    "suggest": ("wattprint.cli.suggest_cmd", "add_parser", "suggest"),
    "esg": ("wattprint.cli.esg_cmd", "add_parser", "esg"),
    "job": ("wattprint.cli.job_cmd", "add_parser", "job"),
    "dashboard": ("wattprint.cli.dashboard_cmd", "add_parser", "dashboard"),
    "monitor": ("wattprint.cli.monitor_cmd", "add_parser", "monitor"),
    "settings": ("wattprint.cli.settings_cmd", "add_parser", "settings"),
}


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if known."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, the full parser of that command alone (the others as bare
    names), which spares importing every command's module."""
    import importlib

    from wattprint import __version__

    parser = _Parser(
        prog="wattprint",
        description="Measure the energy and carbon footprint of machine-learning work.",
    )
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, adder, _) in COMMANDS.items():
        if (only is None or name == only) and name not in sub.choices:
            getattr(importlib.import_module(module), adder)(sub)
    for name in COMMANDS:
        if name not in sub.choices:
            sub.add_parser(name)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"wattprint: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning  # one line per warning, no source excerpt
    try:
        parser = build_parser(_command_in(args_list))
        args = parser.parse_args(args_list)
        if args.command in COMMANDS:
            import importlib

            module, _, name = COMMANDS[args.command]
            handler: Callable[[argparse.Namespace], int] = getattr(
                importlib.import_module(module), name
            )
            return handler(args)
        raise UsageError(
            "no command given; try `wattprint devices`, `wattprint run -- CMD` or "
            "`wattprint --help`"
        )
    except (UsageError, WattprintError) as exc:
        print(f"wattprint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `wattprint runs | head`: the reader left, nothing is wrong
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
