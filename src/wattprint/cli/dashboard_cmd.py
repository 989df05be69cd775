"""``wattprint dashboard``: the run store in a browser, read-only, on 127.0.0.1."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "dashboard", help="a local web view of the run store (read-only; 127.0.0.1 by default)"
    )
    p.add_argument(
        "--db", metavar="STORE", help="run store: a file or a postgresql:// URL (opened read-only)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0: any free)")


def dashboard(args: argparse.Namespace) -> int:
    import sys

    from wattprint.dashboard.server import make
    from wattprint.errors import UsageError
    from wattprint.hosts import is_loopback
    from wattprint.records.reader import StoreReader
    from wattprint.records.store_db import default_db_path

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; give 1-65535, or 0 for any free")
    with StoreReader(args.db or default_db_path()) as reader:
        try:
            server = make(reader, args.host, args.port)
        except OSError as exc:
            raise UsageError(
                f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}; "
                "try another --port (0: any free one)"
            ) from None
        host = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
        print(
            f"wattprint dashboard on http://{host}:{server.server_port}/ "
            f"(read-only view of {reader.path}; Ctrl-C to stop)",
            flush=True,
        )
        if not is_loopback(args.host.strip("[]")):
            print(
                f"wattprint: warning: serving on {args.host}: anyone who can reach this "
                "machine can read your runs (no login)",
                file=sys.stderr,
                flush=True,
            )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
