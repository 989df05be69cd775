"""Serving the dashboard: the standard library's WSGI server, one thread per request, quiet
logs, 127.0.0.1 unless the user names another address."""

from __future__ import annotations

import socket
import socketserver
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from wattprint.dashboard.app import Dashboard
from wattprint.hosts import is_loopback
from wattprint.records.reader import StoreReader


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the URL the user needs

    def address_string(self) -> str:
        return str(self.client_address[0])


def allowed_hosts(host: str, port: int) -> list[str]:
    """The ``Host`` values a browser sends to this server; none (any) off loopback."""
    if not is_loopback(host):
        return []
    names = {host, "localhost", "127.0.0.1", "[::1]"}
    return [f"{n}:{port}" for n in names] + (list(names) if port == 80 else [])


def make(reader: StoreReader, host: str = "127.0.0.1", port: int = 8787) -> WSGIServer:
    """A server bound to ``host:port`` (port 0: any free one; ``server.server_port`` says)."""
    cls = _Server6 if ":" in host.strip("[]") else _Server
    server = make_server(host.strip("[]"), port, Dashboard(reader), server_class=cls,
                         handler_class=_Handler)  # fmt: skip
    app = server.get_app()
    assert isinstance(app, Dashboard)
    shown = f"[{host.strip('[]')}]" if cls is _Server6 else host
    app.hosts = frozenset(h.lower() for h in allowed_hosts(shown, server.server_port))
    return server
