"""``wattprint settings [--json]``: every setting's value and where it came from."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "settings", help="show every setting, its value and where it came from (secrets hidden)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def settings(args: argparse.Namespace) -> int:
    from wattprint.settings import SETTINGS, resolve

    resolved = resolve()
    shown = resolved.shown()
    if args.json:
        rows = [
            {
                "name": s.name,
                "value": shown[s.name],
                "source": resolved.source(s.name),
                "env": s.env,
            }
            for s in SETTINGS
        ]
        print(json.dumps({"config_file": resolved.config_path, "settings": rows}, indent=2))
        return 0
    print(f"config file: {resolved.config_path}")
    for s in SETTINGS:
        value = shown[s.name]
        text = "-" if value is None or value == () else str(value)
        print(f"  {s.name:22} {text[:40]:40} {resolved.source(s.name)}")
    return 0
