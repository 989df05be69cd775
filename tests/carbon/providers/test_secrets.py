"""Provider secrets never leave for another host and never show in a message: a real HTTP
server on 127.0.0.1 redirects to another host (localhost), which records what reaches it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wattprint.carbon.providers.base import fetch_json, garbage
from wattprint.errors import ProviderError

TOKEN = "tok-" + "s3cr3t" * 20  # long: a message cut before redaction would leak part of it


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"data": []}')

        def log_message(self, *args: object) -> None:
            pass

    other = _Server(Elsewhere)

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/same":
                self.send_response(302)
                self.send_header("Location", "/final")
            elif self.path == "/final":
                seen.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')
                return
            else:  # another host: "localhost" is not "127.0.0.1" as far as a URL goes
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{other.port}/steal")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    first = _Server(Redirecting)
    yield first, other, seen
    first.close()
    other.close()


def test_a_redirect_to_another_host_is_refused_and_sends_nothing_there(
    servers: tuple[_Server, _Server, list[dict[str, str]]],
) -> None:
    first, _, seen = servers
    with pytest.raises(ProviderError) as info:
        fetch_json(
            f"http://127.0.0.1:{first.port}/x",
            headers={"auth-token": TOKEN},
            provider="test",
        )
    assert seen == []  # the other host got no request at all, so no token
    assert TOKEN not in str(info.value) and "302" in str(info.value)


def test_a_redirect_within_the_host_is_followed(
    servers: tuple[_Server, _Server, list[dict[str, str]]],
) -> None:
    first, _, seen = servers
    got = fetch_json(f"http://127.0.0.1:{first.port}/same", headers={"auth-token": TOKEN})
    received = {k.lower(): v for k, v in seen[0].items()}
    assert got == {"ok": True} and received.get("auth-token") == TOKEN


def test_a_long_secret_echoed_by_a_server_is_redacted_whole() -> None:
    err = garbage("test", "http://h/p", f"bad field near {TOKEN} and more", secrets=[TOKEN])
    assert "s3cr3t" not in str(err)
