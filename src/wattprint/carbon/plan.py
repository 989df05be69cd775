"""A run's carbon plan, resolved once when its Tracker is created: the zone and its bundled
intensity, the PUE, a tariff, live and marginal providers. A bad zone, PUE, tariff or provider
configuration is an error then, before the user's code runs.

While the run goes on the plan prices energy at the bundled intensity (status lines,
checkpoints, windows); at stop, :mod:`wattprint.carbon.finalize` does the accounting proper.
PUE is applied in these two modules and in ``accounting`` only: ``pue="datacenter"`` is
resolved by the settings, ``pue="cloud"`` here, from the cloud region's published figure.

Cheap to import (a Tracker imports it when created): nothing heavy at module level.
"""

from __future__ import annotations

from wattprint.errors import ConfigError, NoZoneError
from wattprint.settings import DATACENTER_PUE, Settings, env_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

    from wattprint.carbon.intensity import Intensity
    from wattprint.carbon.providers.base import Provider
    from wattprint.carbon.tariff import Tariff
    from wattprint.records.run import Run, TimelineData
    from wattprint.warn import Warn


def region_pue(intensity: Intensity | None) -> float:
    """pue='cloud': the cloud region's published PUE, or a one-line error saying why not."""
    zone = intensity.zone if intensity is not None else None
    if zone is None or ":" not in zone:
        raise ConfigError(
            "pue='cloud' needs a cloud region as the zone, e.g. "
            "zone='gcp:europe-west4'; or give a number"
        )
    from wattprint.carbon.cloud import region_pue as published

    value = published(zone)
    if value is None:
        from wattprint.carbon.cloud import AZURE_SITE_PUE

        azure = ", ".join(sorted(AZURE_SITE_PUE))
        raise ConfigError(
            f"no published PUE for {zone}: Google publishes some regions', AWS its fleet's, "
            f"Microsoft only some sites' ({azure}); give a number, "
            f"or pue='datacenter' ({DATACENTER_PUE:g})"
        )
    return value


class CarbonPlan:
    """How a run's energy becomes CO2 and cost; resolved once, before the run (read-only)."""

    __slots__ = ("intensity", "marginal", "provider", "pue", "tariff", "zone_resolved_by")

    def __init__(
        self,
        intensity: Intensity | None,  # None: no zone, so energy only (never a guessed country)
        pue: float,
        zone_resolved_by: str | None = None,  # argument | env | config | cloud-metadata | ...
        tariff: Tariff | None = None,
        provider: Provider | None = None,  # live average intensity
        marginal: tuple[Provider, str] | None = None,  # (WattTime, region)
    ) -> None:
        self.intensity, self.pue, self.zone_resolved_by = intensity, pue, zone_resolved_by
        self.tariff, self.provider, self.marginal = tariff, provider, marginal

    @classmethod
    def from_settings(cls, settings: Settings) -> CarbonPlan:
        intensity, how = None, None
        if settings.zone is not None or settings.cloud_metadata or settings.ip_geolocation:
            from wattprint.carbon import zones
            from wattprint.carbon.location import resolve_zone

            try:
                resolution = resolve_zone(settings=settings)
            except NoZoneError:
                resolution = None  # energy only: CO2 needs a zone, and none is ever guessed
            if resolution is not None:
                intensity, how = zones.intensity(resolution.zone), resolution.how
        pue = region_pue(intensity) if settings.pue == "cloud" else float(settings.pue)
        tariff = None
        if settings.tariff is not None:
            from wattprint.carbon.tariff import parse_tariff

            tariff = parse_tariff(settings.tariff, settings.tariff_tz)
        return cls(intensity, pue, how, tariff, live_provider(settings), _marginal(settings))

    @property
    def zone(self) -> str | None:
        return self.intensity.zone if self.intensity is not None else None

    def co2_kg(self, energy_kwh: float) -> float | None:
        """CO2e of IT energy at the zone's bundled intensity and the PUE; None without a zone."""
        if self.intensity is None:
            return None
        return energy_kwh * self.pue * self.intensity.intensity_g_per_kwh / 1000

    def record_fields(self, energy_kwh: float) -> dict[str, object]:
        """The record's carbon fields before the time-binned accounting (and for checkpoints)."""
        i = self.intensity
        return {
            "co2_kg": self.co2_kg(energy_kwh),
            "zone": i.zone if i else None,
            "intensity_g_per_kwh": i.intensity_g_per_kwh if i else None,
            "intensity_source": i.label if i else None,
            "intensity_basis": i.basis if i else None,
            "pue": self.pue,
            "zone_resolved_by": self.zone_resolved_by,
        }

    def finalize(self, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn) -> Run:
        """The run with its time-binned CO2, windows' CO2, cost, marginal and embodied carbon
        (:func:`wattprint.carbon.finalize.finalize`)."""
        from wattprint.carbon.finalize import finalize

        return finalize(self, run, timeline, started_at, warn)


def live_provider(settings: Settings) -> Provider | None:
    if settings.intensity_provider is None:
        return None
    from wattprint.carbon.providers import get_provider

    # The provider checks its own credentials (a missing token is a ConfigError naming it).
    token = (
        settings.electricitymaps_token if settings.intensity_provider == "electricitymaps" else None
    )
    return get_provider(settings.intensity_provider, token=token)


def _marginal(settings: Settings) -> tuple[Provider, str] | None:
    if settings.marginal_provider is None:
        return None
    if settings.watttime_region is None:
        raise ConfigError(
            f"{env_name('marginal_provider')}=watttime needs {env_name('watttime_region')}: "
            "a WattTime region such as CAISO_NORTH, or 'LAT,LON'"
        )
    from wattprint.carbon.providers import get_provider

    provider = get_provider(
        "watttime", username=settings.watttime_user, password=settings.watttime_password
    )
    return provider, settings.watttime_region
