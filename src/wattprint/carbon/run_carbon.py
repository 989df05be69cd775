"""A finished run's CO2 and cost: energy per time bin x that bin's intensity x PUE.

Without a live provider every bin has the zone's bundled (yearly) intensity, which gives the
same CO2 as total energy x intensity x PUE. With one (``WATTPRINT_INTENSITY_PROVIDER``), the
provider's bins are used where it has them and the bundled value fills the rest; the record
lists every bin with its source. A tariff prices each bin's energy at the time it was used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wattprint.carbon.intensity import Intensity
from wattprint.errors import WattprintError
from wattprint.records.run import TimelineData

ENV_TARIFF = "WATTPRINT_TARIFF"


@dataclass(frozen=True)
class RunCarbon:
    co2_kg: float
    intensity_g_per_kwh: float  # energy-weighted mean over the run's bins (the table's if none)
    intensity_source: str
    bins: tuple[dict[str, Any], ...]  # one per bin the run used: times, energy, intensity, source
    cost: float | None
    warning: str | None


def account_run(
    intensity: Intensity,
    started_at: datetime,
    duration_s: float,
    timeline: TimelineData,
    pue: float,
    *,
    provider: Any = None,
    tariff: Any = None,
) -> RunCarbon:
    """CO2 (and cost) of a run from its timeline. Raises WattprintError only for bad input;
    a provider that fails costs a warning and the bundled value."""
    from wattprint.carbon.accounting import account, hourly_bins

    end = started_at + timedelta(seconds=max(duration_s, 1e-6))
    static_source = f"{intensity.source}, {intensity.year or 'undated'}"
    warning = None
    bins: list[Any]
    if provider is not None:
        from wattprint.carbon.providers import intensity_bins

        bins, warning = intensity_bins(
            provider,
            intensity.zone,
            started_at,
            end,
            intensity.intensity_g_per_kwh,
            static_source=static_source,
        )
    else:
        bins = list(hourly_bins(started_at, end, intensity.intensity_g_per_kwh, static_source))
    acc = account(timeline, started_at, bins, pue, uncovered="nearest")
    rows = tuple(
        {
            "start": r.start.isoformat(),
            "end": r.end.isoformat(),
            "energy_kwh": r.energy_kwh,
            "intensity_g_per_kwh": r.intensity_g_per_kwh,
            "source": r.source,
            "kind": r.kind,
            "co2_kg": r.co2_kg,
        }
        for r in acc.rows
    )
    price = None
    if tariff is not None:
        from wattprint.carbon.tariff import cost

        price = cost(acc.rows, tariff, pue=pue)
    source = static_source if provider is None else (acc.intensity_source or static_source)
    mean = acc.intensity_g_per_kwh
    return RunCarbon(
        acc.co2_kg,
        intensity.intensity_g_per_kwh if mean is None else mean,
        source,
        rows,
        price,
        warning,
    )


def tariff_from(spec: str | None) -> Any:
    """A parsed tariff from an argument or $WATTPRINT_TARIFF (None when neither is set)."""
    text = spec if spec is not None else os.environ.get(ENV_TARIFF, "").strip() or None
    if text is None:
        return None
    from wattprint.carbon.tariff import parse_tariff

    tz = os.environ.get("WATTPRINT_TARIFF_TZ") or None
    return parse_tariff(text, tz)


def provider_from_env() -> Any:
    """The configured live provider, or None. Raises ConfigError for a bad configuration.

    WattTime gives *marginal* rates, which are not comparable with the average intensities a
    run's CO2 is reported in (and cannot be mixed with the bundled averages that fill gaps):
    it is refused here rather than reported under the wrong name.
    """
    from wattprint.carbon.providers import ENV_PROVIDER, configured_provider
    from wattprint.errors import ConfigError

    if os.environ.get(ENV_PROVIDER, "").strip().lower() == "watttime":
        raise ConfigError(
            f"{ENV_PROVIDER}=watttime gives marginal emission rates, not the average intensity "
            "run CO2 is reported in; use neso, energidata or electricitymaps for runs"
        )
    return configured_provider()


ENV_MARGINAL = "WATTPRINT_MARGINAL_PROVIDER"
ENV_WATTTIME_REGION = "WATTPRINT_WATTTIME_REGION"


def marginal_from_env() -> tuple[Any, str] | None:
    """(provider, region) for marginal emissions ($WATTPRINT_MARGINAL_PROVIDER=watttime and
    $WATTPRINT_WATTTIME_REGION), or None. Raises ConfigError for a bad configuration."""
    from wattprint.errors import ConfigError

    name = os.environ.get(ENV_MARGINAL, "").strip().lower()
    if not name:
        return None
    if name != "watttime":
        raise ConfigError(f"{ENV_MARGINAL}={name!r}: the marginal provider is 'watttime'")
    region = os.environ.get(ENV_WATTTIME_REGION, "").strip()
    if not region:
        raise ConfigError(
            f"{ENV_MARGINAL}=watttime needs {ENV_WATTTIME_REGION}: a WattTime "
            "region such as CAISO_NORTH, or 'LAT,LON'"
        )
    from wattprint.carbon.providers import get_provider

    return get_provider("watttime"), region


def account_marginal(
    provider: Any,
    region: str,
    started_at: datetime,
    duration_s: float,
    timeline: TimelineData,
    pue: float,
) -> tuple[dict[str, Any] | None, str | None]:
    """Marginal CO2 of a run (what the grid emitted *because* of it), kept apart from the
    average-based co2_kg: (summary dict or None, warning or None). Energy in hours the
    provider has no data for goes to the nearest hour it has, and is reported."""
    from wattprint.carbon.accounting import account
    from wattprint.errors import ProviderError

    end = started_at + timedelta(seconds=max(duration_s, 1e-6))
    try:
        bins = provider.history(region, started_at, end)
    except ProviderError as exc:
        return None, f"marginal emissions unavailable: {exc}"
    if not bins:
        return None, f"marginal emissions unavailable: no WattTime data for {region}"
    acc = account(timeline, started_at, bins, pue, uncovered="nearest")
    return {
        "co2_kg": acc.co2_kg,
        "intensity_g_per_kwh": acc.intensity_g_per_kwh,
        "region": region,
        "source": acc.intensity_source,
        "signal": "marginal",
        "uncovered_kwh": acc.uncovered_kwh,
    }, None


__all__ = [
    "RunCarbon",
    "WattprintError",
    "account_marginal",
    "account_run",
    "marginal_from_env",
    "provider_from_env",
    "tariff_from",
]
