"""Command line: ``wattprint devices``, ``wattprint run -- CMD``.

Bad input exits 2 with one line on stderr that says what to do instead.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn, TextIO

from wattprint.errors import WattprintError

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


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

    p = sub.add_parser(
        "run", help="run a command and measure it", usage="wattprint run [options] -- CMD [ARGS...]"
    )
    p.add_argument("--project", default="default", help="project name in the record")
    p.add_argument("--zone", help="grid zone for CO2, e.g. DE, FR, US (default: $WATTPRINT_ZONE)")
    p.add_argument(
        "--scope",
        default="process",
        help="process (the command's process tree, default) or machine",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between samples (default 1)",
    )
    p.add_argument("--pue", type=float, default=1.0, help="data-centre PUE, >= 1 (default 1)")
    p.add_argument("--json", metavar="PATH", help="write the run record as JSON")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
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
        if args.command == "run":
            from wattprint.cli.run import run

            return run(args)
        raise UsageError(
            "no command given; try `wattprint devices`, `wattprint run -- CMD` or "
            "`wattprint --help`"
        )
    except (UsageError, WattprintError) as exc:
        print(f"wattprint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
