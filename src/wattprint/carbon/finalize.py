"""A run's carbon policy, in one place: zone, PUE, intensity bins, cost, marginal, embodied.

:meth:`CarbonPlan.from_settings` runs when a Tracker is created, so a bad zone, PUE, tariff or
provider configuration is an error before the user's code runs. While the run goes on,
:meth:`CarbonPlan.co2_kg` prices energy at the zone's bundled intensity (status lines,
checkpoints). At stop, :meth:`CarbonPlan.finalize` does the accounting proper:

- CO2 = sum over time bins of E_bin x CI_bin x PUE (:func:`wattprint.carbon.accounting.account`):
  hourly bins of the bundled yearly value, or a live provider's bins with the bundled value
  filling the hours it could not give; every bin is listed in the record with its source;
- each window's CO2 from the same bins, over the window's own stretch of the timeline;
- cost with a tariff, per bin at the time the energy was used;
- marginal emissions (WattTime) apart from ``co2_kg``; embodied carbon of the GPUs apart too.

PUE is applied here and in ``accounting`` only: ``pue="datacenter"`` is resolved by the
settings, ``pue="cloud"`` here, from the cloud region's published figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wattprint.errors import ConfigError, NoZoneError, WattprintError
from wattprint.records.run import Embodied, IntensityBin, Marginal, Run, TimelineData, Window
from wattprint.settings import DATACENTER_PUE, Settings, env_name
from wattprint.warn import Warn

if TYPE_CHECKING:
    from wattprint.carbon.accounting import Accounting, BinRow
    from wattprint.carbon.intensity import Intensity
    from wattprint.carbon.providers.base import Provider
    from wattprint.carbon.tariff import Tariff


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
        raise ConfigError(
            f"no published PUE for {zone} in the bundled table; give a number, "
            f"or pue='datacenter' ({DATACENTER_PUE:g})"
        )
    return value


@dataclass(frozen=True)
class CarbonPlan:
    """How a run's energy becomes CO2 and cost; resolved once, before the run."""

    intensity: Intensity | None  # None: no zone, so energy only (never a guessed country)
    pue: float
    zone_resolved_by: str | None = None  # argument | env | config | cloud-metadata | ...
    tariff: Tariff | None = None
    provider: Provider | None = None  # live average intensity
    marginal: tuple[Provider, str] | None = None  # (WattTime, region)

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
        return cls(intensity, pue, how, tariff, _provider(settings), _marginal(settings))

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
            "pue": self.pue,
            "zone_resolved_by": self.zone_resolved_by,
        }

    def finalize(self, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn) -> Run:
        """The run with its time-binned CO2, windows' CO2, cost, marginal and embodied carbon.
        A provider that fails costs a warning and the bundled value, never the run."""
        run = replace(run, **self.record_fields(run.energy_kwh))  # type: ignore[arg-type]
        if self.marginal is not None:
            run = replace(run, marginal=self._marginal(run, timeline, started_at, warn))
        if self.intensity is not None or self.tariff is not None:
            try:
                run = self._binned(run, timeline, started_at, warn)
            except WattprintError as exc:
                warn(
                    "carbon",
                    f"time-binned accounting failed ({exc}); CO2 uses the bundled yearly intensity",
                )
        return with_embodied(run)

    # -- the steps ---------------------------------------------------------------------------

    def _bins(self, start: datetime, end: datetime, warn: Warn) -> list[object]:
        from wattprint.carbon.accounting import hourly_bins

        i = self.intensity
        if i is None:  # a tariff without a zone: bins only to price the energy by the hour
            return list(hourly_bins(start, end, 0.0, "none"))
        if self.provider is None:
            return list(hourly_bins(start, end, i.intensity_g_per_kwh, i.label))
        from wattprint.carbon.providers import intensity_bins

        bins, problem = intensity_bins(
            self.provider, i.zone, start, end, i.intensity_g_per_kwh, static_source=i.label
        )
        if problem:
            warn("carbon:provider", problem)
        return list(bins)

    def _binned(self, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn) -> Run:
        from wattprint.carbon.accounting import account

        end = started_at + timedelta(seconds=max(run.duration_s, 1e-6))
        bins = self._bins(started_at, end, warn)
        acc = account(timeline, started_at, bins, self.pue, uncovered="nearest")  # type: ignore[arg-type]
        cost = None
        if self.tariff is not None:
            from wattprint.carbon.tariff import cost as priced

            cost = priced(acc.rows, self.tariff, pue=self.pue)
        if self.intensity is None:
            return replace(run, cost=cost)
        windows = tuple(
            replace(w, co2_kg=_window_co2(w, timeline, started_at, bins, self.pue))
            for w in run.windows
        )
        mean = acc.intensity_g_per_kwh
        return replace(
            run,
            co2_kg=acc.co2_kg,
            intensity_g_per_kwh=self.intensity.intensity_g_per_kwh if mean is None else mean,
            intensity_source=self.intensity.label
            if self.provider is None
            else (acc.intensity_source or self.intensity.label),
            cost=cost,
            intensity_bins=_bin_records(acc),
            windows=windows,
        )

    def _marginal(
        self, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn
    ) -> Marginal | None:
        from wattprint.carbon.accounting import account
        from wattprint.errors import ProviderError

        assert self.marginal is not None
        provider, region = self.marginal
        end = started_at + timedelta(seconds=max(run.duration_s, 1e-6))
        try:
            bins = provider.history(region, started_at, end)
            if not bins:
                raise ProviderError(f"no WattTime data for {region}")
            acc = account(timeline, started_at, bins, self.pue, uncovered="nearest")
        except WattprintError as exc:
            warn("carbon:marginal", f"marginal emissions unavailable: {exc}")
            return None
        return Marginal(
            co2_kg=acc.co2_kg,
            intensity_g_per_kwh=acc.intensity_g_per_kwh,
            region=region,
            source=acc.intensity_source,
            uncovered_kwh=acc.uncovered_kwh,
        )


def _bin_records(acc: Accounting) -> tuple[IntensityBin, ...]:
    def one(r: BinRow) -> IntensityBin:
        return IntensityBin(
            r.start.isoformat(),
            r.end.isoformat(),
            r.energy_kwh,
            r.intensity_g_per_kwh,
            r.source,
            r.kind,
            r.co2_kg,
        )

    return tuple(one(r) for r in acc.rows)


def _window_co2(
    window: Window,
    timeline: TimelineData,
    run_started_at: datetime,
    bins: list[object],
    pue: float,
) -> float | None:
    """A window's CO2 from the run's bins: its energy spread over time as the run's timeline
    shows it between the window's edges (evenly where the timeline shows none)."""
    from wattprint.carbon.accounting import EnergyCurve, account

    w_start = datetime.fromisoformat(window.started_at.replace("Z", "+00:00"))
    a = (w_start - run_started_at).total_seconds()
    b = a + window.duration_s
    energy_j = window.energy_kwh * 3.6e6
    curve = EnergyCurve(timeline)
    inside = [(t, curve.at(t)) for t in timeline.t_s if a < t < b]
    points = [(a, curve.at(a)), *inside, (b, curve.at(b))]
    seen_j = points[-1][1] - points[0][1]
    if seen_j > 0 and window.duration_s > 0:
        scale = energy_j / seen_j
        t_s = tuple(t - a for t, _ in points)
        e_j = tuple((e - points[0][1]) * scale for _, e in points)
    else:
        t_s, e_j = (0.0, max(window.duration_s, 1e-6)), (0.0, energy_j)
    sub = TimelineData(t_s=t_s, energy_j={"window": e_j})
    try:
        return account(sub, w_start, bins, pue, uncovered="nearest").co2_kg  # type: ignore[arg-type]
    except WattprintError:
        return window.co2_kg


def with_embodied(run: Run) -> Run:
    """Add the GPUs' amortised manufacturing footprint (reported apart from co2_kg)."""
    gpus = len({c.device for c in run.components if c.name == "gpu"})
    if not gpus:
        return run
    from wattprint.carbon.embodied import embodied_kg

    est = embodied_kg("gpu", gpus, run.duration_s)
    return replace(
        run,
        embodied_kgco2e=Embodied(
            kgco2e=est.kgco2e,
            devices=gpus,
            device_class="gpu",
            share_of_lifetime=est.share_of_lifetime,
            uncertainty_pct=est.uncertainty_pct,
            source=est.source,
        ),
    )


def _provider(settings: Settings) -> Provider | None:
    if settings.intensity_provider is None:
        return None
    from wattprint.carbon.providers import get_provider

    opts: dict[str, Any] = {}
    if settings.intensity_provider == "electricitymaps":
        if settings.electricitymaps_token is None:
            raise ConfigError(
                f"electricitymaps needs an API token; set {env_name('electricitymaps_token')} "
                "(or choose the 'neso' or 'energidata' provider, which need none)"
            )
        opts["token"] = settings.electricitymaps_token
    return get_provider(settings.intensity_provider, **opts)


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
