"""Command line: ``wattprint devices | run | runs | show | summary | verify | export | import``.

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


def build_parser() -> argparse.ArgumentParser:
    from wattprint import __version__

    parser = _Parser(
        prog="wattprint",
        description="Measure the energy and carbon footprint of machine-learning work.",
    )
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("devices", help="list what can be measured here, and how")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    from wattprint.cli import carbon_cmds, records_cmds, run, views

    run.add_parser(sub)
    views.add_parsers(sub)
    records_cmds.add_parsers(sub)
    carbon_cmds.add_parsers(sub)
    carbon_cmds.add_compare_parser(sub)
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
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command == "devices":
            from wattprint.cli.devices import devices

            return devices(args)
        handlers = {
            "run": ("wattprint.cli.run", "run"),
            "runs": ("wattprint.cli.views", "runs"),
            "show": ("wattprint.cli.views", "show"),
            "summary": ("wattprint.cli.views", "summary"),
            "verify": ("wattprint.cli.records_cmds", "verify"),
            "export": ("wattprint.cli.records_cmds", "export"),
            "import": ("wattprint.cli.records_cmds", "import_"),
            "intensity": ("wattprint.cli.carbon_cmds", "intensity"),
            "zones": ("wattprint.cli.carbon_cmds", "zones_"),
            "compare": ("wattprint.cli.carbon_cmds", "compare"),
        }
        if args.command in handlers:
            import importlib

            module, name = handlers[args.command]
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
