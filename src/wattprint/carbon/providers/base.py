"""What every live intensity provider shares: the :class:`Bin`, the :class:`Provider` protocol,
:class:`ProviderError`, and :func:`fetch_json`, a small stdlib HTTP GET with a short timeout.

Safety rules kept here, once for all providers:

- Responses are parsed with :func:`json.loads` only (never ``eval``); ``NaN``/``Infinity`` are
  rejected; numbers must be finite and non-negative.
- Header values (tokens, basic-auth) and any extra ``secrets`` are replaced by ``***`` in every
  message; messages name only the host and path of a URL, never its query, headers or body.
- Every failure (HTTP status, timeout, connection, invalid JSON, missing keys, bad values) is one
  :class:`ProviderError` with a one-line message.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from wattprint.errors import ProviderError, UnsupportedZoneError

log = logging.getLogger(__name__)

BinKind = Literal["historical", "forecast"]
Signal = Literal["average", "marginal"]
DEFAULT_TIMEOUT_S = 3.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
REDACTED = "***"

#: ``opener(request, timeout_s) -> body bytes``; raises on HTTP errors and timeouts like
#: :func:`urllib.request.urlopen`. Tests inject one that serves recorded fixtures.
Opener = Callable[[urllib.request.Request, float], bytes]
#: Wall clock returning an aware UTC datetime (injected in tests).
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Bin:
    """Grid carbon intensity over ``[start, end)`` (aware UTC datetimes).

    ``kind`` says whether the value is a historical (measured/estimated after the fact) or a
    forecast value; ``signal`` whether it is an *average* (attributional) or a *marginal*
    intensity (WattTime MOER). Accounting must not add marginal and average bins together.
    """

    start: datetime
    end: datetime
    intensity_g_per_kwh: float
    source: str
    kind: BinKind = "historical"
    signal: Signal = "average"

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start),
            "end": iso(self.end),
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "source": self.source,
            "kind": self.kind,
            "signal": self.signal,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bin:
        """Inverse of :meth:`to_dict`; raises ValueError/KeyError/TypeError on bad input."""
        kind = data["kind"]
        signal = data.get("signal", "average")
        if kind not in ("historical", "forecast") or signal not in ("average", "marginal"):
            raise ValueError("bad kind or signal")
        source = data["source"]
        if not isinstance(source, str):
            raise TypeError("source must be a string")
        start, end = parse_time(data["start"]), parse_time(data["end"])
        if end <= start:
            raise ValueError("empty bin")
        value = number(data["intensity_g_per_kwh"], "intensity")
        return cls(start, end, value, source, kind, signal)


class Provider(Protocol):
    """A live source of time-resolved intensity. Raises :class:`ProviderError` on failure."""

    name: str

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        """Bins overlapping ``[start, end)``, sorted; gaps allowed (filled later from tables)."""
        ...

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        """Forecast bins overlapping ``[start, end)``; ``[]`` when the provider has none."""
        ...


# -- time helpers ---------------------------------------------------------------------------


def utc(when: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def iso(when: datetime) -> str:
    return utc(when).isoformat()


def parse_time(text: object) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` suffix, optional seconds/fraction) to aware UTC."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a timestamp: {text!r}"[:80])
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return utc(datetime.fromisoformat(value))


def floor_hour(when: datetime) -> datetime:
    return utc(when).replace(minute=0, second=0, microsecond=0)


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Start of every UTC hour that overlaps ``[start, end)``."""
    out: list[datetime] = []
    hour = floor_hour(start)
    while hour < utc(end):
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def chunks(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """Split ``[start, end)`` into consecutive windows of at most ``size`` (API range limits)."""
    out: list[tuple[datetime, datetime]] = []
    lo = utc(start)
    while lo < utc(end):
        hi = min(lo + size, utc(end))
        out.append((lo, hi))
        lo = hi
    return out


def number(value: object, what: str) -> float:
    """A finite, non-negative float from a JSON number; anything else is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not a number")
    result = float(value)
    if not math.isfinite(result) or result < 0:
        raise ValueError(f"{what} is not a finite non-negative number")
    return result


def overlapping(bins: Iterable[Bin], start: datetime, end: datetime) -> list[Bin]:
    lo, hi = utc(start), utc(end)
    return sorted((b for b in bins if b.end > lo and b.start < hi), key=lambda b: b.start)


# -- HTTP -----------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (longest first, 4+ characters) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def safe_url(url: str) -> str:
    """Host and path only: queries may carry credentials or personal data (coordinates)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.netloc}{parts.path}"


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the same scheme and host: urllib would otherwise send the
    request's headers — the provider's token — to whatever host the answer names."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            return None  # urllib then raises HTTPError for the 3xx: nothing is sent there
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _urlopen(request: urllib.request.Request, timeout_s: float) -> bytes:
    opener = urllib.request.build_opener(_SameHostRedirects)
    with opener.open(request, timeout=timeout_s) as response:
        body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError("response too large")
    return body


def fetch_json(
    url: str,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    opener: Opener | None = None,
    *,
    provider: str = "provider",
    secrets: Iterable[str] = (),
    hint: str = "",
) -> Any:
    """GET ``url`` and parse its JSON body; any failure is a redacted one-line ProviderError.

    Header values are always treated as secrets. ``hint`` ends the message (a suggestion).
    Headers are never logged.
    """
    hidden = [*(headers or {}).values(), *secrets]
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "wattprint", **(headers or {})}
    )
    where = safe_url(url)
    log.debug("%s: GET %s", provider, where)
    suffix = f"; {hint}" if hint else ""

    def fail(why: str) -> ProviderError:
        message = f"{provider}: {why} from {where}{suffix}"
        return ProviderError(redact(" ".join(message.split()), hidden))

    try:
        body = (opener or _urlopen)(request, timeout_s)
    except urllib.error.HTTPError as exc:
        raise fail(f"HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise fail(f"no answer within {timeout_s:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise fail(f"no answer within {timeout_s:g} s") from None
        raise fail(f"connection failed ({exc.reason})") from None
    except (OSError, ValueError) as exc:
        raise fail(f"request failed ({type(exc).__name__})") from None
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise fail("invalid JSON") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def garbage(provider: str, url: str, why: object, secrets: Iterable[str] = ()) -> ProviderError:
    """The error for a well-formed JSON answer whose content is not what the API documents."""
    # Redacted before it is cut: a cut could leave part of a long secret unrecognised.
    detail = redact(" ".join(str(why).split()), secrets)[:120]
    message = f"{provider}: unexpected response from {safe_url(url)} ({detail})"
    return ProviderError(redact(message, secrets))


class HttpProvider:
    """Shared plumbing: an injectable opener, a short timeout, redaction of the provider's secrets.

    Nothing is fetched at construction; the network is touched only by ``history``/``forecast``.
    """

    name = "provider"
    hint = ""

    default_base_url = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        opener: Opener | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.opener = opener
        self.timeout_s = timeout_s

    def secrets(self) -> list[str]:
        """Strings that must never appear in a message (tokens, passwords)."""
        return []

    def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        return fetch_json(
            url,
            headers,
            self.timeout_s,
            self.opener,
            provider=self.name,
            secrets=self.secrets(),
            hint=self.hint,
        )

    def garbage(self, url: str, why: object) -> ProviderError:
        return garbage(self.name, url, why, self.secrets())

    def unsupported(self, zone: str, covered: Iterable[str]) -> UnsupportedZoneError:
        listed = ", ".join(sorted(covered))
        message = f"{self.name}: zone {zone!r} is not covered; use one of {listed}"
        return UnsupportedZoneError(redact(message, self.secrets()))
