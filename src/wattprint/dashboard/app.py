"""The dashboard as a WSGI application over a read-only store (:class:`StoreReader`).

Routes (GET and HEAD only): ``/`` runs with filters, ``/run/ID`` a run's report with its
suggestions, ``/projects`` totals per project and month, ``/compare?run=A&run=B`` runs side by
side, ``/esg`` the Scope 2 view of a period. Every response carries a Content-Security-Policy
that lets nothing load from elsewhere and only the report's zoom script run. Requests whose
``Host`` is not the address served are refused (a web page elsewhere cannot reach the store
through DNS rebinding).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from html import escape
from typing import Any
from urllib.parse import parse_qs

from wattprint.dashboard import pages
from wattprint.errors import StoreError
from wattprint.records.reader import RunFilter, StoreReader

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
STATUSES = ("running", "finished", "failed", "interrupted")
MAX_COMPARE = 12
MAX_OFFSET = 10**9


class HttpError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _csp() -> str:
    from wattprint.report.html import zoom_script_hash

    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src '{zoom_script_hash()}'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


class Dashboard:
    """``Dashboard(reader, hosts)``: ``hosts`` are the ``Host`` header values accepted (empty:
    any, for a server the user chose to expose)."""

    def __init__(self, reader: StoreReader, hosts: Iterable[str] = ()) -> None:
        self.reader = reader
        self.hosts = frozenset(h.lower() for h in hosts)
        self.headers = [
            ("Content-Security-Policy", _csp()),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Cache-Control", "no-store"),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            host = str(environ.get("HTTP_HOST", "")).lower()
            if self.hosts and host not in self.hosts:
                raise HttpError("400 Bad Request", f"unexpected Host {host!r}")
            if method not in ("GET", "HEAD"):
                raise HttpError("405 Method Not Allowed", "the dashboard only reads")
            try:
                query = parse_qs(str(environ.get("QUERY_STRING", "")), max_num_fields=100)
                # WSGI hands the path over as latin-1 text of the raw bytes: back to UTF-8
                path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8")
            except (ValueError, UnicodeError) as exc:  # too many fields, not UTF-8
                raise HttpError("400 Bad Request", str(exc)) from None
            status, body = "200 OK", self.route(path, query)
        except HttpError as exc:
            status, body = exc.status, pages.error_page(exc.status, str(exc))
        except StoreError as exc:
            status, body = "500 Internal Server Error", pages.error_page("Store error", str(exc))
        data = body.encode("utf-8")
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *self.headers,
        ]
        if status.startswith("405"):
            headers.append(("Allow", "GET, HEAD"))
        start_response(status, headers)
        return [] if method == "HEAD" else [data]

    # -- routes ----------------------------------------------------------------------------
    def route(self, path: str, query: dict[str, list[str]]) -> str:
        if path == "/":
            return self.runs(query)
        if path.startswith("/run/") and len(path) > len("/run/"):  # the rest is the id
            return self.run(path[len("/run/") :])
        if path == "/projects":
            return pages.projects_page(self.reader.months(RunFilter()))
        if path == "/compare":
            return self.compare(query.get("run", []))
        if path == "/esg":
            return self.esg(query)
        raise HttpError("404 Not Found", f"no page at {path}")

    def _filter(self, query: dict[str, list[str]]) -> RunFilter:
        def one(name: str) -> str | None:
            values = [v for v in query.get(name, []) if v]
            return values[0] if values else None

        status = one("status")
        if status is not None and status not in STATUSES:
            raise HttpError("400 Bad Request", f"unknown status {status!r}")

        def day(name: str) -> str | None:
            value = one(name)
            if value is None:
                return None
            try:  # as YYYY-MM-DD: a whole day, however it was written
                return date.fromisoformat(value).isoformat()
            except ValueError:
                raise HttpError("400 Bad Request", f"{name} {value!r} is not a date") from None

        return RunFilter(one("project"), one("tag"), day("since"), day("until"), status)

    def runs(self, query: dict[str, list[str]]) -> str:
        f = self._filter(query)
        try:
            offset = max(0, int((query.get("offset") or ["0"])[0]))
        except ValueError:
            raise HttpError("400 Bad Request", "offset is not a number") from None
        if offset > MAX_OFFSET:
            raise HttpError("400 Bad Request", f"offset is over {MAX_OFFSET}")
        r = self.reader
        return pages.runs_page(
            f, r.rows(f, pages.PAGE_SIZE, offset), r.totals(f), r.projects(), r.tags(), offset
        )

    def run(self, run_id: str) -> str:
        from wattprint.carbon.compare import DEFAULT_ZONES, in_zones
        from wattprint.errors import ConfigError
        from wattprint.report.html import render_html
        from wattprint.report.suggest import suggestions

        found = self.reader.get(run_id)
        if found is None:
            raise HttpError("404 Not Found", f"no run {run_id!r} in the store")
        names = [*([found.zone] if found.zone else []), *DEFAULT_ZONES]
        try:
            zones = in_zones(found.energy_kwh, found.pue, names)
        except ConfigError:  # a zone this version no longer knows
            zones = in_zones(found.energy_kwh, found.pue, DEFAULT_ZONES)
        return render_html(
            found,
            self.reader.timeline(found.run_id),
            zones,
            suggestions=suggestions(found),
            nav=pages.NAV,
        )

    def compare(self, ids: list[str]) -> str:
        if len(ids) > MAX_COMPARE:
            raise HttpError("400 Bad Request", f"at most {MAX_COMPARE} runs side by side")
        runs = []
        for run_id in dict.fromkeys(ids):
            found = self.reader.get(run_id)
            if found is None:
                raise HttpError("404 Not Found", f"no run {run_id!r} in the store")
            runs.append(found)
        return pages.compare_page(runs)

    def esg(self, query: dict[str, list[str]]) -> str:
        from wattprint.report.esg import esg_report
        from wattprint.report.esg_render import esg_body

        def day(name: str, default: date) -> date:
            value = (query.get(name) or [""])[0]
            if not value:
                return default
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise HttpError("400 Bad Request", f"{name} {value!r} is not a date") from None

        today = date.today()
        start = day("from", date(today.year, 1, 1))
        end = day("to", today)
        if end < start:
            raise HttpError("400 Bad Request", "'to' is before 'from'")
        project = (query.get("project") or [""])[0] or None
        runs = self.reader.esg_inputs(RunFilter(project=project, since=start, until=end))
        report = esg_report(runs, start, end, project)
        form = (
            "<form method='get' action='/esg'>"
            f"<label>from <input type='date' name='from' value='{start}'></label> "
            f"<label>to <input type='date' name='to' value='{end}'></label> "
            f"<label>project <input name='project' value='{escape(project or '')}'></label> "
            "<button type='submit'>Show</button></form><p>Market-based figures need your "
            "contractual factors: <code>wattprint esg --factors FILE</code>.</p>"
        )
        return pages.page("Scope 2", form + esg_body(report))
