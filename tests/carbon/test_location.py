"""Location resolution: precedence, config file, switches, cloud metadata and IP geolocation.

The network is a local fake (127.0.0.1, random port) that plays the three metadata services and
an ipapi.co-style geolocation service, as their documentation describes them:

- AWS IMDSv2: ``PUT /latest/api/token`` needs ``X-aws-ec2-metadata-token-ttl-seconds``
  (1-21600, else 400) and is refused with ``X-Forwarded-For`` (403); metadata GETs need the
  token in ``X-aws-ec2-metadata-token`` (else 401).
- GCP: every request needs ``Metadata-Flavor: Google`` (else 403); answers carry the same header.
- Azure IMDS: needs ``Metadata: true`` and an ``api-version`` (else 400); ``format=text``.
- ipapi.co: ``GET /json/`` gives ``{"country_code": .., "region_code": ..}`` or
  ``{"error": true, "reason": ..}``.

The fake logs every request, so tests can check that nothing is asked when nothing is enabled.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.carbon import location, metadata
from wattprint.carbon.location import Resolution, resolve_zone
from wattprint.carbon.metadata import GeoIP, MetadataEndpoints
from wattprint.errors import ConfigError
from wattprint.settings import BY_NAME, config_file, default_config_path, resolve

TOKEN = "AQAEAFake-token=="


class FakeCloud:
    """A local stand-in for the metadata services and the geolocation service."""

    def __init__(self) -> None:
        self.providers: set[str] = set()
        self.aws_region = "eu-west-1"
        self.gcp_zone = "projects/123456/zones/europe-west4-a"
        self.gcp_flavor_reply = True
        self.azure_location = "westeurope"
        self.geo: dict[str, object] = {"country_code": "US", "region_code": "CA"}
        self.hang = threading.Event()  # set: every request waits until `release` is set
        self.release = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # Generous defaults: a test that wants an answer must not lose it to a loaded CI machine
    # (the suite runs subprocesses beside it); the deadline test passes its own short ones.
    def endpoints(self, timeout_s: float = 2.0, deadline_s: float = 5.0) -> MetadataEndpoints:
        return MetadataEndpoints(self.url, self.url, self.url, timeout_s, deadline_s)

    def probe(self) -> str | None:
        return metadata.cloud_zone(self.endpoints())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _reply(
                self, status: int, body: str = "", headers: dict[str, str] | None = None
            ) -> None:
                data = body.encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                with fake._lock:
                    fake.requests.append(
                        (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                if fake.hang.is_set():
                    fake.release.wait(5)
                    return
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                h = self.headers
                if path.startswith("/latest/"):
                    self._aws(path)
                elif path.startswith("/computeMetadata/"):
                    flavor = {"Metadata-Flavor": "Google"} if fake.gcp_flavor_reply else {}
                    if "gcp" not in fake.providers:
                        self._reply(404)
                    elif h.get("Metadata-Flavor") != "Google" or h.get("X-Forwarded-For"):
                        self._reply(403, "Missing Metadata-Flavor:Google header.", flavor)
                    elif self.command == "GET" and path == "/computeMetadata/v1/instance/zone":
                        self._reply(200, fake.gcp_zone, flavor)
                    else:
                        self._reply(404, "", flavor)
                elif path.startswith("/metadata/"):
                    if "azure" not in fake.providers:
                        self._reply(404)
                    elif h.get("Metadata") != "true" or "api-version" not in query:
                        self._reply(400, '{"error": "Bad request"}')
                    elif path == "/metadata/instance/compute/location":
                        fmt = query.get("format", ["json"])[0]
                        loc = fake.azure_location
                        self._reply(200, loc if fmt == "text" else json.dumps(loc))
                    else:
                        self._reply(404)
                elif path == "/json/" and self.command == "GET":
                    self._reply(200, json.dumps(fake.geo), {"Content-Type": "application/json"})
                else:
                    self._reply(404)

            def _aws(self, path: str) -> None:
                h = self.headers
                if "aws" not in fake.providers:
                    self._reply(404)
                elif path == "/latest/api/token":
                    ttl = h.get("X-aws-ec2-metadata-token-ttl-seconds", "")
                    if self.command != "PUT":
                        self._reply(405)
                    elif h.get("X-Forwarded-For"):
                        self._reply(403)
                    elif not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                        self._reply(400)
                    else:
                        self._reply(200, TOKEN)
                elif h.get("X-aws-ec2-metadata-token") != TOKEN:
                    self._reply(401)
                elif path == "/latest/meta-data/placement/region" and self.command == "GET":
                    self._reply(200, fake.aws_region)
                else:
                    self._reply(404)

            do_GET = _serve  # noqa: N815
            do_PUT = _serve  # noqa: N815

        return Handler


@pytest.fixture
def fake() -> Iterator[FakeCloud]:
    f = FakeCloud()
    f.thread.start()
    try:
        yield f
    finally:
        f.release.set()
        f.server.shutdown()
        f.server.server_close()
        f.thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """IP geolocation honours proxies; the local fake must be reached directly."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def no_config(tmp_path: Path) -> dict[str, str]:
    """An environment whose config file is an empty one (never the developer's)."""
    path = tmp_path / "empty.toml"
    path.write_text("")
    return {"WATTPRINT_CONFIG": str(path)}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- metadata probes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "code"),
    [("aws", "aws:eu-west-1"), ("gcp", "gcp:europe-west4"), ("azure", "azure:westeurope")],
)
def test_cloud_zone_per_provider(fake: FakeCloud, provider: str, code: str) -> None:
    fake.providers = {provider}
    assert fake.probe() == code


def test_aws_uses_imdsv2_token(fake: FakeCloud) -> None:
    fake.providers = {"aws"}
    assert metadata.aws_region(fake.url, 0.5) == "eu-west-1"
    (m1, p1, h1), (m2, p2, h2) = fake.requests
    assert (m1, p1) == ("PUT", "/latest/api/token")
    assert 1 <= int(h1["x-aws-ec2-metadata-token-ttl-seconds"]) <= 21600
    assert (m2, p2) == ("GET", "/latest/meta-data/placement/region")
    assert h2["x-aws-ec2-metadata-token"] == TOKEN
    assert "x-forwarded-for" not in h1


def test_fake_refuses_what_the_real_services_refuse(fake: FakeCloud) -> None:
    fake.providers = {"aws", "gcp", "azure"}

    def status(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
        req = urllib.request.Request(fake.url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status("/latest/meta-data/placement/region") == 401  # IMDSv1 style: no token
    assert status("/latest/api/token", "PUT") == 400  # no TTL header
    assert status("/computeMetadata/v1/instance/zone") == 403
    assert status("/computeMetadata/v1/instance/zone", headers={"Metadata-Flavor": "Google"}) == 200
    assert status(metadata.AZURE_LOCATION_PATH) == 400
    assert status(metadata.AZURE_LOCATION_PATH, headers={"Metadata": "true"}) == 200


def test_gcp_answer_without_flavor_header_is_not_gcp(fake: FakeCloud) -> None:
    fake.providers = {"gcp"}
    fake.gcp_flavor_reply = False
    assert metadata.gcp_region(fake.url, 0.5) is None


@pytest.mark.parametrize("zone", ["<html>captive portal</html>", "projects/1/zones/", ""])
def test_odd_gcp_answers_are_ignored(fake: FakeCloud, zone: str) -> None:
    fake.providers = {"gcp"}
    fake.gcp_zone = zone
    assert metadata.gcp_region(fake.url, 0.5) is None


def test_odd_aws_and_azure_answers_are_ignored(fake: FakeCloud) -> None:
    fake.providers = {"aws", "azure"}
    fake.aws_region = "<html>"
    fake.azure_location = "west europe; rm -rf"
    assert fake.probe() is None


def test_no_cloud_answers_none(fake: FakeCloud) -> None:
    assert fake.probe() is None  # every endpoint 404s
    assert len(fake.requests) == 3  # token PUT, GCP zone, Azure location: each asked once


def test_unreachable_metadata_is_none() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"  # closed: connection refused
    assert metadata.cloud_zone(MetadataEndpoints(url, url, url, 0.2, 0.5)) is None
    assert metadata.cloud_zone(MetadataEndpoints("not a url", "::", "http://[", 0.2, 0.5)) is None


def test_hanging_metadata_gives_up_at_the_deadline(fake: FakeCloud) -> None:
    fake.providers = {"aws", "gcp", "azure"}
    fake.hang.set()
    began = time.monotonic()
    assert metadata.cloud_zone(fake.endpoints(timeout_s=0.1, deadline_s=0.3)) is None
    assert time.monotonic() - began < 2.0  # generous: the bound is the deadline, not 3 x timeouts


# --- precedence --------------------------------------------------------------------------------


def test_precedence(fake: FakeCloud, tmp_path: Path) -> None:
    fake.providers = {"aws"}
    cfg = write_config(tmp_path, 'zone = "FR"\ncloud_metadata = true\nip_geolocation = true\n')
    env = {
        "WATTPRINT_CONFIG": str(cfg),
        "WATTPRINT_ZONE": "de",
        "WATTPRINT_IP_GEOLOCATION_URL": fake.url + "/json/",
    }

    def resolve(explicit: str | None = None) -> Resolution:
        return resolve_zone(explicit, environ=env, metadata=fake.probe)

    assert resolve("Poland") == Resolution("PL", "argument", "PL (Poland) from the zone argument")
    assert resolve().how == "env"
    assert resolve().zone == "DE"
    del env["WATTPRINT_ZONE"]
    r = resolve()
    assert (r.zone, r.how) == ("FR", "config") and str(cfg) in r.detail
    assert fake.requests == []  # a zone was set: nothing asked although both are enabled
    cfg.write_text("cloud_metadata = true\nip_geolocation = true\n")
    r = resolve()
    assert (r.zone, r.how, r.approximate) == ("aws:eu-west-1", "cloud-metadata", False)
    assert not any(path == "/json/" for _, path, _ in fake.requests)  # cloud won: no IP lookup
    fake.providers = set()
    r = resolve()
    assert (r.zone, r.how, r.approximate) == ("US-CA", "ip-geolocation", True)


def test_explicit_argument_asks_nothing(fake: FakeCloud, tmp_path: Path) -> None:
    fake.providers = {"aws", "gcp", "azure"}
    env = {"WATTPRINT_CONFIG": str(write_config(tmp_path, 'zone = "FR"\n'))}  # loses
    r = resolve_zone("US-CA", environ=env, cloud=True, ip=True, metadata=fake.probe)
    assert (r.zone, r.how) == ("US-CA", "argument")
    assert fake.requests == []


def test_env_beats_config_and_blank_env_is_unset(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'zone = "SE-SE3"  # Stockholm\n')
    env = {"WATTPRINT_CONFIG": str(cfg), "WATTPRINT_ZONE": "  "}
    assert resolve_zone(None, environ=env).zone == "SE-SE3"
    env["WATTPRINT_ZONE"] = "Canada"
    assert (resolve_zone(None, environ=env).zone, resolve_zone(None, environ=env).how) == (
        "CA",
        "env",
    )


@pytest.mark.parametrize("where", ["argument", "env", "config"])
@pytest.mark.parametrize("spelling", ["world", "World", "global"])
def test_world_is_allowed_and_labelled(tmp_path: Path, where: str, spelling: str) -> None:
    env = no_config(tmp_path)
    if where == "env":
        env["WATTPRINT_ZONE"] = spelling
    if where == "config":
        env["WATTPRINT_CONFIG"] = str(write_config(tmp_path, f'zone = "{spelling}"\n'))
    r = resolve_zone(spelling if where == "argument" else None, environ=env)
    assert (r.zone, r.how, r.approximate) == ("WORLD", "world", True)
    assert "world average" in r.detail


def test_unknown_or_empty_zone_is_an_error_naming_its_source(tmp_path: Path) -> None:
    env = no_config(tmp_path)
    with pytest.raises(ConfigError, match="did you mean DE"):
        resolve_zone("Germny", environ=env)
    with pytest.raises(ConfigError, match="empty"):
        resolve_zone("  ", environ=env)
    with pytest.raises(ConfigError, match=r"^WATTPRINT_ZONE: unknown zone") as e:
        resolve_zone(None, environ={**env, "WATTPRINT_ZONE": "Germny"})
    assert "\n" not in str(e.value)
    cfg = write_config(tmp_path, 'zone = "Atlantis"\n')
    with pytest.raises(ConfigError, match=f"zone in {cfg}: unknown zone"):
        resolve_zone(None, environ={"WATTPRINT_CONFIG": str(cfg)})


def test_nothing_set_is_a_one_line_error_saying_how(tmp_path: Path, fake: FakeCloud) -> None:
    env = no_config(tmp_path)
    with pytest.raises(ConfigError) as e:
        resolve_zone(None, environ=env, metadata=fake.probe)
    msg = str(e.value)
    assert "\n" not in msg
    for how in ("Tracker(zone=", "--zone", "WATTPRINT_ZONE=", env["WATTPRINT_CONFIG"]):
        assert how in msg
    assert "WATTPRINT_CLOUD_METADATA=1" in msg and "'world'" in msg
    assert fake.requests == []  # nothing enabled: nothing asked


def test_default_config_path_is_the_user_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}  # the XDG rule platformdirs follows
    assert default_config_path(env) == str(tmp_path / "cfg" / "wattprint" / "config.toml")
    named = write_config(tmp_path, "")
    assert resolve({}, environ={"WATTPRINT_CONFIG": str(named)}).config_path == str(named)
    with pytest.raises(ConfigError, match="no zone set"):
        resolve_zone(None, environ=env)  # the default file is missing: no settings, no error
    (tmp_path / "cfg" / "wattprint").mkdir(parents=True)
    (tmp_path / "cfg" / "wattprint" / "config.toml").write_text("zone = 'NO'\n")
    assert resolve_zone(None, environ=env).zone == "NO"


# --- switches: no request unless enabled -------------------------------------------------------


def test_cloud_metadata_only_when_enabled(fake: FakeCloud, tmp_path: Path) -> None:
    fake.providers = {"gcp"}
    env = no_config(tmp_path)
    for off in ({}, {"WATTPRINT_CLOUD_METADATA": "0"}, {"WATTPRINT_CLOUD_METADATA": ""}):
        with pytest.raises(ConfigError, match="no zone set"):
            resolve_zone(None, environ={**env, **off}, metadata=fake.probe)
    with pytest.raises(ConfigError):
        resolve_zone(None, environ={**env, "WATTPRINT_CLOUD_METADATA": "1"}, cloud=False)
    assert fake.requests == []
    r = resolve_zone(None, environ={**env, "WATTPRINT_CLOUD_METADATA": "1"}, metadata=fake.probe)
    assert (r.zone, r.how) == ("gcp:europe-west4", "cloud-metadata")
    assert r.detail == "gcp:europe-west4 from instance metadata"
    cfg = write_config(tmp_path, "cloud_metadata = true\n")
    r = resolve_zone(None, config_path=cfg, environ={}, metadata=fake.probe)
    assert r.zone == "gcp:europe-west4"
    asked: list[object] = []

    def probe(*args: object, **kwargs: object) -> object:
        asked.append(args)
        return fake.probe(*args, **kwargs)  # type: ignore[arg-type]

    # Counting the fake's requests here raced with the earlier probe's slower providers,
    # whose answers can still land after it returned: count the probe's calls instead.
    with pytest.raises(ConfigError):  # the environment switches the file's setting off
        resolve_zone(
            None, config_path=cfg, environ={"WATTPRINT_CLOUD_METADATA": "off"}, metadata=probe
        )
    assert asked == []


def test_cloud_metadata_default_probe_is_used(
    fake: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.providers = {"azure"}
    monkeypatch.setattr(metadata, "METADATA_IP_URL", "unused")
    monkeypatch.setattr(location, "cloud_zone", fake.probe)
    assert resolve_zone(None, environ=no_config(tmp_path), cloud=True).zone == "azure:westeurope"


def test_cloud_metadata_without_answer_or_known_region(fake: FakeCloud, tmp_path: Path) -> None:
    env = no_config(tmp_path)
    with pytest.raises(ConfigError, match=r"no zone set \(cloud metadata: no AWS, GCP or Azure"):
        resolve_zone(None, environ=env, cloud=True, metadata=fake.probe)
    fake.providers = {"aws"}
    fake.aws_region = "xx-nowhere-9"
    with pytest.raises(ConfigError, match="aws:xx-nowhere-9, a region with no bundled intensity"):
        resolve_zone(None, environ=env, cloud=True, metadata=fake.probe)


def test_bad_switch_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WATTPRINT_IP_GEOLOCATION='maybe' is not a switch"):
        resolve_zone(None, environ={**no_config(tmp_path), "WATTPRINT_IP_GEOLOCATION": "maybe"})


# --- IP geolocation ----------------------------------------------------------------------------


def test_ip_geolocation_only_when_enabled(fake: FakeCloud, tmp_path: Path) -> None:
    env = {**no_config(tmp_path), "WATTPRINT_IP_GEOLOCATION_URL": fake.url + "/json/"}
    with pytest.raises(ConfigError):
        resolve_zone(None, environ=env)
    with pytest.raises(ConfigError):
        resolve_zone(None, environ={**env, "WATTPRINT_IP_GEOLOCATION": "1"}, ip=False)
    assert fake.requests == []
    r = resolve_zone(None, environ={**env, "WATTPRINT_IP_GEOLOCATION": "yes"})
    assert (r.zone, r.how, r.approximate) == ("US-CA", "ip-geolocation", True)
    assert r.detail.startswith("approximate: 127.0.0.1 places this machine's public IP in US-CA")
    (method, path, headers) = fake.requests[-1]
    assert (method, path) == ("GET", "/json/") and headers["user-agent"].startswith("wattprint/")


def test_ip_geolocation_from_config_url(fake: FakeCloud, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, f'ip_geolocation = true\nip_geolocation_url = "{fake.url}/json/"\n'
    )
    fake.geo = {"country_code": "DE", "region_code": "BY", "country": "DE"}  # no DE-BY zone
    r = resolve_zone(None, config_path=cfg, environ={})
    assert (r.zone, r.how) == ("DE", "ip-geolocation")
    assert "DE-BY" in r.detail


@pytest.mark.parametrize(
    "answer",
    [
        {"error": True, "reason": "RateLimited"},
        {"country_code": "Germany"},
        {"country_code": None},
        ["DE"],
    ],
)
def test_ip_geolocation_without_usable_answer(
    fake: FakeCloud, tmp_path: Path, answer: object
) -> None:
    fake.geo = answer  # type: ignore[assignment]  # deliberately not a dict for the last one
    env = {**no_config(tmp_path), "WATTPRINT_IP_GEOLOCATION_URL": fake.url + "/json/"}
    with pytest.raises(ConfigError, match=r"no zone set \(IP geolocation: no usable answer"):
        resolve_zone(None, environ=env, ip=True)


def test_ip_geolocation_country_fallback_and_unknown_country() -> None:
    assert location.zone_for_geoip(GeoIP("US", "TX")) == "US-TX"
    assert location.zone_for_geoip(GeoIP("FR", "IDF")) == "FR"
    assert location.zone_for_geoip(GeoIP("GB", None)) == "GB"
    assert location.zone_for_geoip(GeoIP("QQ", None)) is None


def test_ip_geolocation_rejects_non_http_urls(tmp_path: Path) -> None:
    env = {**no_config(tmp_path), "WATTPRINT_IP_GEOLOCATION_URL": "file:///etc/passwd"}
    with pytest.raises(ConfigError, match="not an http"):
        resolve_zone(None, environ=env, ip=True)


def test_injected_geolocate_gets_url_and_timeout(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []

    def geolocate(url: str, timeout_s: float) -> GeoIP | None:
        seen.append((url, timeout_s))
        return GeoIP("CA", "ON", "example")

    r = resolve_zone(None, environ=no_config(tmp_path), ip=True, geolocate=geolocate)
    assert r.zone == "CA-ON" and seen == [(BY_NAME["ip_geolocation_url"].default, 2.0)]


# --- config file parsing -----------------------------------------------------------------------

SAMPLE = """
# wattprint settings
zone = "US-CA"   # California
cloud_metadata = false
ip_geolocation = true
ip_geolocation_url = 'https://example.org/json/'
retries = 3
note = "a \\"quoted\\" \\u00e9 # not a comment"

[store]
path = "/tmp/runs.sqlite3"
[a.b]
c = true
"""


@pytest.mark.parametrize("use_tomllib", [True, False])
def test_config_parsers_agree_on_the_sample(use_tomllib: bool) -> None:
    if use_tomllib and not config_file._HAVE_TOMLLIB:
        pytest.skip("tomllib is Python 3.11+")
    assert config_file.parse_config(SAMPLE, use_tomllib=use_tomllib) == {
        "zone": "US-CA",
        "cloud_metadata": False,
        "ip_geolocation": True,
        "ip_geolocation_url": "https://example.org/json/",
        "retries": 3,
        "note": 'a "quoted" é # not a comment',
        "store": {"path": "/tmp/runs.sqlite3"},
        "a": {"b": {"c": True}},
    }


_keys = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
_values = st.one_of(
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
)


@pytest.mark.skipif(not config_file._HAVE_TOMLLIB, reason="tomllib is Python 3.11+")
@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6), st.booleans())
def test_subset_parser_matches_tomllib(data: dict[str, object], literal: bool) -> None:
    lines = []
    for key, value in data.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str) and literal and "'" not in value:
            text = f"'{value}'"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key} = {text}  # c")
    doc = "\n".join(lines)
    assert config_file.parse_config(doc, use_tomllib=False) == config_file.parse_config(
        doc, use_tomllib=True
    )


@pytest.mark.parametrize(
    "text",
    [
        "zone = DE\n",  # unquoted string
        'zone = "DE\n',  # unterminated
        "zone\n",
        'zone = "DE"\nzone = "FR"\n',  # duplicate
        'zone = "a\\qb"\n',  # bad escape
        "zone = [1, 2]\n",  # arrays: tomllib accepts, zone must be a string anyway
        "= 1\n",
        "[table\n",
    ],
)
@pytest.mark.parametrize("tomllib_available", [True, False])
def test_malformed_config_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, tomllib_available: bool
) -> None:
    if tomllib_available and not config_file._HAVE_TOMLLIB:
        pytest.skip("tomllib is Python 3.11+")
    monkeypatch.setattr(config_file, "_HAVE_TOMLLIB", tomllib_available)
    cfg = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        resolve_zone(None, environ={"WATTPRINT_CONFIG": str(cfg)})
    msg = str(e.value)
    assert "\n" not in msg and str(cfg) in msg and "WATTPRINT_CONFIG" in msg


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("zone = 49\n", "zone = 49 must be text"),
        ('cloud_metadata = "maybe"\n', "cloud_metadata = 'maybe' is not a switch"),
        ("ip_geolocation = 7\n", "ip_geolocation = 7 must be text"),
        ("ip_geolocation_url = false\n", "ip_geolocation_url = False must be text"),
    ],
)
def test_config_values_have_types(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_zone(None, config_path=write_config(tmp_path, text), environ={})


def test_named_config_must_exist_and_be_readable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist: create it or unset WATTPRINT_CONFIG"):
        resolve_zone(None, environ={"WATTPRINT_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve_zone(None, environ={"WATTPRINT_CONFIG": str(tmp_path)})  # a directory
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'zone = "\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve_zone(None, config_path=bad, environ={})


def test_unknown_keys_are_errors_known_ones_any_setting(tmp_path: Path) -> None:
    """A typo must not silently drop a setting; every setting may be in the file."""
    cfg = write_config(tmp_path, 'zoen = "FR"\n')
    with pytest.raises(ConfigError, match="unknown key 'zoen'"):
        resolve_zone(None, config_path=cfg, environ={})
    cfg = write_config(tmp_path, 'pue = 2\n[zone_extra]\nzone = "FR"\n')
    with pytest.raises(ConfigError, match="unknown key 'zone_extra'"):
        resolve_zone(None, config_path=cfg, environ={})
    cfg = write_config(tmp_path, 'pue = 1.5\ninterval_s = 5\nzone = "FR"\n')
    got = resolve({}, environ={"WATTPRINT_CONFIG": str(cfg)})
    assert (got.pue, got.interval_s, got.zone) == (1.5, 5.0, "FR")
    assert got.source("pue") == f"config {cfg}"
