"""Where is this machine's grid? Resolve the zone whose carbon intensity applies.

Order (first that gives a zone wins; DESIGN.md, "Carbon rules"):

1. the explicit argument (``Tracker(zone=...)``, ``--zone``);
2. the ``zone`` setting's environment variable, then ``zone`` in the config file (the
   environment wins over the file: it is the more local, per-run setting, as with pip or git);
3. cloud instance metadata (:mod:`wattprint.carbon.metadata`), only when enabled by argument,
   or the ``cloud_metadata`` setting;
4. IP geolocation, only when enabled the same way (the ``ip_geolocation`` setting), labelled
   approximate;
5. otherwise a one-line :class:`~wattprint.errors.ConfigError` saying how to set the zone.

There is no default country. ``zone="world"`` (from any of 1-2) gives the world average,
labelled ``how="world"``. Nothing touches the network unless 3 or 4 is enabled.

Where each setting comes from (argument, environment, config file) is :mod:`wattprint.settings`'s
rule; this module adds steps 3 and 4.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from wattprint.carbon.metadata import IP_TIMEOUT_S, GeoIP, cloud_zone, geolocate_ip
from wattprint.errors import ConfigError, NoZoneError
from wattprint.settings import Settings, env_name, resolve

How = Literal["argument", "config", "env", "cloud-metadata", "ip-geolocation", "world"]


@dataclass(frozen=True)
class Resolution:
    """The zone to use and how it was found. ``zone`` is the registry's canonical code."""

    zone: str
    how: How
    detail: str
    approximate: bool = False


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


def _no_zone(tried: list[str], path: str) -> ConfigError:
    why = f" ({'; '.join(tried)})" if tried else ""
    return NoZoneError(
        f"no zone set{why}: pass Tracker(zone='DE') or --zone DE, set {env_name('zone')}=DE, "
        f'put zone = "DE" in {path}, or enable cloud metadata with '
        f"{env_name('cloud_metadata')}=1 (zone='world' gives the world average)"
    )


def resolve_zone(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: str | None = None,
    cloud: bool | None = None,
    ip: bool | None = None,
    metadata: Callable[[], str | None] | None = None,
    geolocate: Callable[[str, float], GeoIP | None] | None = None,
    settings: Settings | None = None,
) -> Resolution:
    """The zone to use, and how it was found (see the module docstring for the order).

    ``settings`` (default: resolved from ``explicit``, ``environ`` and ``config_path``) give
    the zone named by argument, environment or config file, and the cloud/IP switches, which
    ``cloud``/``ip`` override. ``metadata`` (default :func:`wattprint.carbon.metadata.cloud_zone`)
    returns a code such as ``aws:eu-west-1``; ``geolocate`` (default
    :func:`wattprint.carbon.metadata.geolocate_ip`) is called with the provider URL and a
    timeout. An unknown zone, a bad config file or no zone at all raise ConfigError.
    """
    if settings is None:
        settings = resolve({"zone": explicit, "config": config_path}, environ=environ)
    if settings.zone is not None:
        source = settings.source("zone")
        if source == "argument":
            return _given(settings.zone, "argument", "the zone argument")
        if source.startswith("env "):
            return _given(settings.zone, "env", env_name("zone"))
        return _given(settings.zone, "config", f"zone in {settings.config_path}")
    tried: list[str] = []
    if settings.cloud_metadata if cloud is None else cloud:
        code = (metadata or cloud_zone)()
        if code is None:
            tried.append("cloud metadata: no AWS, GCP or Azure metadata service answered")
        else:
            from wattprint.carbon import zones

            try:
                zone = zones.lookup_zone(code)
            except ConfigError:
                tried.append(f"cloud metadata says {code}, a region with no bundled intensity")
            else:
                return Resolution(zone.code, "cloud-metadata", f"{code} from instance metadata")
    if settings.ip_geolocation if ip is None else ip:
        url = settings.ip_geolocation_url
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
    raise _no_zone(tried, settings.config_path)
