"""Network look-ups of where this machine is: cloud instance metadata and IP geolocation.

Only called when the user enables them (see :mod:`wattprint.carbon.location`); nothing here runs
at import. Cloud metadata goes only to the link-local metadata address; IP geolocation goes to
the internet (:func:`geolocate_ip`, an ipapi.co-style JSON service). The three cloud probes run in
parallel daemon threads, each request with a short timeout (0.5 s), and the whole look-up gives
up after ``deadline_s`` (1 s), so a machine outside any cloud pays about a second, once.

Endpoints (as the providers document them):

- AWS IMDSv2: ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` gives a
  session token; ``GET /latest/meta-data/placement/region`` with ``X-aws-ec2-metadata-token``
  gives ``eu-west-1``. IMDSv1 (no token) is not used: many accounts disable it.
- GCP: ``GET /computeMetadata/v1/instance/zone`` with ``Metadata-Flavor: Google`` gives
  ``projects/123/zones/europe-west4-a``; the region is the zone less its last part. The server
  answers with the same header, which is checked. The IP (not ``metadata.google.internal``) is
  used so that no DNS look-up, which no socket timeout bounds, happens off GCP.
- Azure IMDS: ``GET /metadata/instance/compute/location?api-version=2021-02-01&format=text``
  with ``Metadata: true`` gives ``westeurope``.

Proxies are bypassed (the providers require it; a proxy would answer for another machine).
Every failure (refused, timed out, HTTP error, odd answer) is "not this cloud": ``None``.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattprint.errors import ConfigError
from wattprint.settings import env_name

if TYPE_CHECKING:
    import urllib.request

METADATA_IP_URL = "http://169.254.169.254"
TIMEOUT_S = 0.5
DEADLINE_S = 1.0
MAX_BODY_BYTES = 4096
IP_TIMEOUT_S = 2.0
MAX_IP_BODY_BYTES = 65536
AWS_TOKEN_PATH = "/latest/api/token"
AWS_REGION_PATH = "/latest/meta-data/placement/region"
AWS_TOKEN_TTL_S = 60
GCP_ZONE_PATH = "/computeMetadata/v1/instance/zone"
AZURE_LOCATION_PATH = "/metadata/instance/compute/location?api-version=2021-02-01&format=text"

_AWS_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}")
_GCP_ZONE = re.compile(r"projects/[^/]+/zones/([a-z]+-[a-z]+\d{1,2})-[a-z]")
_AZURE_LOCATION = re.compile(r"[a-z][a-z0-9]{2,40}")


@dataclass(frozen=True)
class MetadataEndpoints:
    """Base URLs of the three metadata services (tests point them at a local fake)."""

    aws: str = METADATA_IP_URL
    gcp: str = METADATA_IP_URL
    azure: str = METADATA_IP_URL
    timeout_s: float = TIMEOUT_S
    deadline_s: float = DEADLINE_S


@dataclass(frozen=True)
class GeoIP:
    """What an IP geolocation service said: ISO 3166-1 alpha-2 country, subdivision code."""

    country: str
    region: str | None = None
    provider: str = ""


@dataclass(frozen=True)
class _Answer:
    body: str
    headers: dict[str, str]


def _request(url: str, *, method: str, headers: dict[str, str], timeout_s: float) -> _Answer | None:
    """One request without proxies; ``None`` on any network, HTTP or decoding failure."""
    import http.client
    import urllib.request

    try:
        req = urllib.request.Request(url, method=method, headers=headers)
        with _opener().open(req, timeout=timeout_s) as resp:
            if not 200 <= resp.status < 300:
                return None
            body = resp.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                return None
            return _Answer(
                body.decode("utf-8").strip(), {k.lower(): v for k, v in resp.headers.items()}
            )
    except (OSError, ValueError, http.client.HTTPException):  # URLError is an OSError
        return None


def _opener() -> urllib.request.OpenerDirector:
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def aws_region(base_url: str = METADATA_IP_URL, timeout_s: float = TIMEOUT_S) -> str | None:
    """The AWS region (``eu-west-1``) from IMDSv2, or None off AWS."""
    base = base_url.rstrip("/")
    token = _request(
        base + AWS_TOKEN_PATH,
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": str(AWS_TOKEN_TTL_S)},
        timeout_s=timeout_s,
    )
    if token is None or not token.body or len(token.body) > 512:
        return None
    answer = _request(
        base + AWS_REGION_PATH,
        method="GET",
        headers={"X-aws-ec2-metadata-token": token.body},
        timeout_s=timeout_s,
    )
    if answer is None or not _AWS_REGION.fullmatch(answer.body):
        return None
    return answer.body


def gcp_region(base_url: str = METADATA_IP_URL, timeout_s: float = TIMEOUT_S) -> str | None:
    """The GCP region (``europe-west4``) from the instance's zone, or None off GCP."""
    answer = _request(
        base_url.rstrip("/") + GCP_ZONE_PATH,
        method="GET",
        headers={"Metadata-Flavor": "Google"},
        timeout_s=timeout_s,
    )
    if answer is None or answer.headers.get("metadata-flavor") != "Google":
        return None
    m = _GCP_ZONE.fullmatch(answer.body)
    return m.group(1) if m else None


def azure_region(base_url: str = METADATA_IP_URL, timeout_s: float = TIMEOUT_S) -> str | None:
    """The Azure location (``westeurope``) from IMDS, or None off Azure."""
    answer = _request(
        base_url.rstrip("/") + AZURE_LOCATION_PATH,
        method="GET",
        headers={"Metadata": "true"},
        timeout_s=timeout_s,
    )
    if answer is None:
        return None
    location = answer.body.lower()
    return location if _AZURE_LOCATION.fullmatch(location) else None


def cloud_zone(endpoints: MetadataEndpoints | None = None) -> str | None:
    """``aws:<region>``, ``gcp:<region>`` or ``azure:<location>``, or None outside a cloud.

    The three probes run at once; the first that answers wins (a machine is in one cloud).
    Returns within ``endpoints.deadline_s``; a probe still running then is left to time out
    on its own daemon thread. Never raises for network reasons.
    """
    ep = endpoints or MetadataEndpoints()
    probes: list[tuple[str, Callable[[], str | None]]] = [
        ("aws", lambda: aws_region(ep.aws, ep.timeout_s)),
        ("gcp", lambda: gcp_region(ep.gcp, ep.timeout_s)),
        ("azure", lambda: azure_region(ep.azure, ep.timeout_s)),
    ]
    answers: queue.Queue[str | None] = queue.Queue()

    def run(prefix: str, probe: Callable[[], str | None]) -> None:
        region: str | None = None
        try:
            region = probe()
        finally:
            answers.put(f"{prefix}:{region}" if region else None)

    for prefix, probe in probes:
        threading.Thread(
            target=run, args=(prefix, probe), name=f"wattprint-{prefix}-metadata", daemon=True
        ).start()
    end = time.monotonic() + ep.deadline_s
    for _ in probes:
        left = end - time.monotonic()
        if left <= 0:
            return None
        try:
            found = answers.get(timeout=left)
        except queue.Empty:
            return None
        if found:
            return found
    return None


# --- IP geolocation (opt-in; goes to the internet) ------------------------------------------

_COUNTRY = re.compile(r"[A-Za-z]{2}")
_REGION = re.compile(r"[A-Za-z0-9]{1,3}")


def geolocate_ip(url: str, timeout_s: float = IP_TIMEOUT_S) -> GeoIP | None:
    """Ask an ipapi.co-style JSON service where this machine's public IP is; None on failure.

    Reads ``country_code`` (or a two-letter ``country``) and ``region_code``. The answer is
    parsed as JSON, never evaluated. The user's proxy settings apply (this is the internet).
    """
    import http.client
    import json
    import urllib.parse
    import urllib.request

    from wattprint import __version__

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"IP geolocation URL {url!r} is not an http(s) URL: set "
            f"{env_name('ip_geolocation_url')} or ip_geolocation_url to one such as "
            "https://ipapi.co/json/"
        )
    headers = {"Accept": "application/json", "User-Agent": f"wattprint/{__version__}"}
    try:
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read(MAX_IP_BODY_BYTES + 1)
        if len(body) > MAX_IP_BODY_BYTES:
            return None
        data = json.loads(body.decode("utf-8"))
    except (OSError, ValueError, http.client.HTTPException):  # ValueError: bad JSON/UTF-8
        return None
    if not isinstance(data, dict) or data.get("error"):
        return None
    country = data.get("country_code") or data.get("country")
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        return None
    region = data.get("region_code")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        region = None
    return GeoIP(country.upper(), region.upper() if region else None, parts.hostname)
