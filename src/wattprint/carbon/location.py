"""Where is this machine's grid? Resolve the zone whose carbon intensity applies.

Order (first that gives a zone wins; DESIGN.md, "Carbon rules"):

1. the explicit argument (``Tracker(zone=...)``, ``--zone``);
2. ``WATTPRINT_ZONE``, then ``zone`` in the config file (the environment wins over the file:
   it is the more local, per-run setting, as with pip or git);
3. cloud instance metadata (:mod:`wattprint.carbon.metadata`), only when enabled by argument,
   ``WATTPRINT_CLOUD_METADATA=1`` or ``cloud_metadata = true``;
4. IP geolocation, only when enabled the same way (``WATTPRINT_IP_GEOLOCATION=1`` or
   ``ip_geolocation = true``), labelled approximate;
5. otherwise a one-line :class:`~wattprint.errors.ConfigError` saying how to set the zone.

There is no default country. ``zone="world"`` (from any of 1-2) gives the world average,
labelled ``how="world"``. Nothing touches the network unless 3 or 4 is enabled.

Config file: ``$WATTPRINT_CONFIG``, else ``config.toml`` in platformdirs'
``user_config_dir("wattprint")``. Keys: ``zone`` (string), ``cloud_metadata`` and
``ip_geolocation`` (booleans), ``ip_geolocation_url`` (string); others are left to other parts.
Parsed by :mod:`tomllib` on Python 3.11+, and on 3.10 by a small parser for the same subset
(``key = "string"``, ``'literal'``, ``true``/``false``, integers, ``[tables]``, comments).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wattprint.carbon.intensity import ENV_ZONE
from wattprint.carbon.metadata import IP_TIMEOUT_S, GeoIP, cloud_zone, geolocate_ip
from wattprint.errors import ConfigError, NoZoneError

ENV_CONFIG = "WATTPRINT_CONFIG"
ENV_CLOUD_METADATA = "WATTPRINT_CLOUD_METADATA"
ENV_IP_GEOLOCATION = "WATTPRINT_IP_GEOLOCATION"
ENV_IP_GEOLOCATION_URL = "WATTPRINT_IP_GEOLOCATION_URL"
DEFAULT_IP_GEOLOCATION_URL = "https://ipapi.co/json/"  # answers country_code and region_code
CONFIG_NAME = "config.toml"
_HAVE_TOMLLIB = sys.version_info >= (3, 11)

How = Literal["argument", "config", "env", "cloud-metadata", "ip-geolocation", "world"]


@dataclass(frozen=True)
class Resolution:
    """The zone to use and how it was found. ``zone`` is the registry's canonical code."""

    zone: str
    how: How
    detail: str
    approximate: bool = False


@dataclass(frozen=True)
class Settings:
    """The location keys of the config file (None: not set)."""

    path: Path
    zone: str | None = None
    cloud_metadata: bool | None = None
    ip_geolocation: bool | None = None
    ip_geolocation_url: str | None = None


# --- config file ---------------------------------------------------------------------------

_KEY = r"[A-Za-z0-9_-]+"
_TABLE_LINE = re.compile(rf"\[\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]\s*(?:#.*)?")
_PAIR_LINE = re.compile(rf"({_KEY})\s*=\s*(.*)")
_BASIC = re.compile(r'"((?:[^"\\\x00-\x1f\x7f]|\\.)*)"\s*(?:#.*)?')
_LITERAL = re.compile(r"'([^'\x00-\x08\x0a-\x1f\x7f]*)'\s*(?:#.*)?")
_BARE = re.compile(r"(true|false|[+-]?(?:0|[1-9]\d*))\s*(?:#.*)?")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def _unescape(text: str, line_no: int) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "uU" and len(esc) > 1:
            code = int(esc[1:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"invalid unicode escape at line {line_no}")
            return chr(code)
        if esc in _ESCAPES:
            return _ESCAPES[esc]
        raise ValueError(f"invalid escape \\{esc} at line {line_no}")

    return _ESCAPE.sub(one, text)


def _parse_simple(text: str) -> dict[str, object]:
    """The TOML subset wattprint's config uses; ValueError (with the line) on anything else."""
    root: dict[str, object] = {}
    table = root
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _TABLE_LINE.fullmatch(line)
        if m:
            table = root
            for part in (p.strip() for p in m.group(1).split(".")):
                nxt = table.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ValueError(f"{part!r} is both a key and a table at line {line_no}")
                table = nxt
            continue
        m = _PAIR_LINE.fullmatch(line)
        if not m:
            raise ValueError(f'expected key = "value" at line {line_no}')
        key, rest = m.group(1), m.group(2)
        if key in table:
            raise ValueError(f"duplicate key {key!r} at line {line_no}")
        value: object
        if mb := _BASIC.fullmatch(rest):
            value = _unescape(mb.group(1), line_no)
        elif ml := _LITERAL.fullmatch(rest):
            value = ml.group(1)
        elif mv := _BARE.fullmatch(rest):
            word = mv.group(1)
            value = word == "true" if word in ("true", "false") else int(word)
        else:
            raise ValueError(
                f"unsupported value at line {line_no}: use a quoted string, true, false or "
                "an integer"
            )
        table[key] = value
    return root


def parse_config(text: str, *, use_tomllib: bool | None = None) -> dict[str, object]:
    """Parse config text: tomllib where available (3.11+), else the subset parser.

    Raises ValueError with a one-line reason. ``use_tomllib=False`` forces the subset parser.
    """
    if not (_HAVE_TOMLLIB if use_tomllib is None else use_tomllib):
        return _parse_simple(text)
    import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+

    try:
        parsed: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    return parsed


def config_file(environ: Mapping[str, str], config_path: str | Path | None = None) -> Path:
    """The config file to read: the argument, ``$WATTPRINT_CONFIG``, or the user config dir."""
    if config_path is not None:
        return Path(config_path).expanduser()
    named = environ.get(ENV_CONFIG, "").strip()
    if named:
        return Path(named).expanduser()
    import platformdirs  # deferred: only needed when no zone was given

    return Path(platformdirs.user_config_dir("wattprint", appauthor=False)) / CONFIG_NAME


def load_settings(environ: Mapping[str, str], config_path: str | Path | None = None) -> Settings:
    """Read and check the config file. A missing default file is no settings; a missing file
    that was named (argument or ``$WATTPRINT_CONFIG``) or a malformed one is a ConfigError."""
    named = config_path is not None or bool(environ.get(ENV_CONFIG, "").strip())
    path = config_file(environ, config_path)
    hint = f"fix it or point {ENV_CONFIG} at another file"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(
                f"config file {path} does not exist: create it or unset {ENV_CONFIG}"
            ) from None
        return Settings(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"cannot read config file {path} ({reason}): {hint}") from None
    try:
        data = parse_config(text)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"config file {path} is not valid TOML ({reason}): {hint}") from None

    def check(key: str, kind: type[object], example: str) -> None:
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            raise ConfigError(f"config file {path}: {key} must be like {key} = {example}: {hint}")

    check("zone", str, '"DE"')
    check("ip_geolocation_url", str, '"https://ipapi.co/json/"')
    check("cloud_metadata", bool, "true")
    check("ip_geolocation", bool, "true")
    zone, url = data.get("zone"), data.get("ip_geolocation_url")
    cloud, ip = data.get("cloud_metadata"), data.get("ip_geolocation")
    return Settings(
        path,
        zone=zone.strip() or None if isinstance(zone, str) else None,
        cloud_metadata=cloud if isinstance(cloud, bool) else None,
        ip_geolocation=ip if isinstance(ip, bool) else None,
        ip_geolocation_url=url.strip() or None if isinstance(url, str) else None,
    )


# --- switches --------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _switch(arg: bool | None, environ: Mapping[str, str], var: str, setting: bool | None) -> bool:
    if arg is not None:
        return arg
    text = environ.get(var, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text:
        raise ConfigError(f"{var}={environ[var]!r} is not a switch: set it to 1 (on) or 0 (off)")
    return bool(setting)


# --- IP geolocation --------------------------------------------------------------------------


def zone_for_geoip(geo: GeoIP) -> str | None:
    """The ISO 3166-2 zone (``US-CA``) when the registry has it, else the country, else None."""
    from wattprint.carbon import zones

    if geo.region:
        code = f"{geo.country}-{geo.region}"
        try:
            zone = zones.lookup_zone(code)
        except ConfigError:
            pass
        else:
            if zone.code.upper() == code and zone.parent == geo.country:
                return zone.code
    try:
        zone = zones.lookup_zone(geo.country)
    except ConfigError:
        return None
    return zone.code if zone.code.upper() == geo.country else None


# --- resolution ------------------------------------------------------------------------------


def _given(text: object, how: How, where: str) -> Resolution:
    from wattprint.carbon import zones

    if not isinstance(text, str) or not text.strip():
        raise ConfigError(
            f"zone from {where} is empty or not text ({text!r}): give a code such as 'DE' or "
            "'US-CA', or 'world' for the world average"
        )
    try:
        zone = zones.lookup_zone(text)
    except ConfigError as exc:
        if how == "argument":
            raise
        raise ConfigError(f"{where}: {exc}") from None
    if zone.kind == "world":
        return Resolution(
            zone.code,
            "world",
            f"world average, set by {where}; not this machine's grid: set its zone to be exact",
            approximate=True,
        )
    return Resolution(zone.code, how, f"{zone.code} ({zone.name}) from {where}")


def _load_cloud_zones() -> None:
    """Make sure the cloud-region zones are registered (their module may register on import)."""
    import importlib

    try:
        importlib.import_module("wattprint.carbon.cloud")
    except ModuleNotFoundError as exc:
        if exc.name != "wattprint.carbon.cloud":
            raise


def _no_zone(tried: list[str], path: Path) -> ConfigError:
    why = f" ({'; '.join(tried)})" if tried else ""
    return NoZoneError(
        f"no zone set{why}: pass Tracker(zone='DE') or --zone DE, set {ENV_ZONE}=DE, "
        f'put zone = "DE" in {path}, or enable cloud metadata with {ENV_CLOUD_METADATA}=1 '
        "(zone='world' gives the world average)"
    )


def resolve_zone(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
    cloud: bool | None = None,
    ip: bool | None = None,
    metadata: Callable[[], str | None] | None = None,
    geolocate: Callable[[str, float], GeoIP | None] | None = None,
) -> Resolution:
    """The zone to use, and how it was found (see the module docstring for the order).

    ``cloud``/``ip`` override the environment and config switches (None: use them).
    ``metadata`` (default :func:`wattprint.carbon.metadata.cloud_zone`) returns a code such as
    ``aws:eu-west-1``; ``geolocate`` (default :func:`wattprint.carbon.metadata.geolocate_ip`)
    is called with the provider URL and a timeout. An unknown zone, a bad config file or no
    zone at all raise ConfigError.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if explicit is not None:
        return _given(explicit, "argument", "the zone argument")
    if env.get(ENV_ZONE, "").strip():
        return _given(env[ENV_ZONE].strip(), "env", ENV_ZONE)
    settings = load_settings(env, config_path)
    if settings.zone:
        return _given(settings.zone, "config", f"zone in {settings.path}")
    tried: list[str] = []
    if _switch(cloud, env, ENV_CLOUD_METADATA, settings.cloud_metadata):
        code = (metadata or cloud_zone)()
        if code is None:
            tried.append("cloud metadata: no AWS, GCP or Azure metadata service answered")
        else:
            from wattprint.carbon import zones

            _load_cloud_zones()
            try:
                zone = zones.lookup_zone(code)
            except ConfigError:
                tried.append(f"cloud metadata says {code}, a region with no bundled intensity")
            else:
                return Resolution(zone.code, "cloud-metadata", f"{code} from instance metadata")
    if _switch(ip, env, ENV_IP_GEOLOCATION, settings.ip_geolocation):
        url = (
            env.get(ENV_IP_GEOLOCATION_URL, "").strip()
            or settings.ip_geolocation_url
            or DEFAULT_IP_GEOLOCATION_URL
        )
        geo = (geolocate or geolocate_ip)(url, IP_TIMEOUT_S)
        code = zone_for_geoip(geo) if geo else None
        if geo is None:
            tried.append(f"IP geolocation: no usable answer from {url}")
        elif code is None:
            tried.append(f"IP geolocation says {geo.country}, which is not a known zone")
        else:
            said = f"{geo.country}-{geo.region}" if geo.region else geo.country
            return Resolution(
                code,
                "ip-geolocation",
                f"approximate: {geo.provider or url} places this machine's public IP in {said}; "
                "VPNs, proxies and cloud networks can be far from the grid that powers it, so "
                "set the zone to be sure",
                approximate=True,
            )
    raise _no_zone(tried, settings.path)
