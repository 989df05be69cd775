"""Wraparound arithmetic for cumulative energy counters.

RAPL's ``energy_uj`` counts up to ``max_energy_range_uj`` and starts again at 0. Between two
readings the counter may have wrapped once (we make the sampler read often enough that it
cannot wrap twice unseen), or it may have been *reset* (driver reload, CPU hotplug, suspend on
some firmware). The two look the same — the value went down — and are told apart by the power
the wrap would imply: a wrap whose implied power exceeds what the device can draw is a reset.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_JUDGED_S = 0.05


@dataclass(frozen=True, slots=True)
class CounterDelta:
    """Energy between two readings, or a gap when it cannot be known."""

    energy_uj: int
    gap: str | None = None


def counter_delta(
    prev_uj: int, cur_uj: int, range_uj: int, dt_s: float, max_power_w: float
) -> CounterDelta:
    """Energy between two readings of a counter that wraps at ``range_uj``.

    The kernel's counter takes values in ``[0, range_uj]``; we treat ``range_uj`` as the
    modulus, while the hardware's is one energy unit more (61 µJ on Intel, 15 µJ on AMD): that
    is the error per wrap. Never returns a negative energy.
    """
    # Counters move in steps (RAPL updates every ~1 ms), so two reads a few microseconds apart
    # can imply any power: judge plausibility over at least MIN_JUDGED_S.
    dt_s = max(dt_s, MIN_JUDGED_S)
    if cur_uj >= prev_uj:
        delta_uj = cur_uj - prev_uj
        if delta_uj / 1e6 / dt_s > max_power_w:
            # More than the device can draw: it was reset and counted past the old value.
            return CounterDelta(0, gap="counter jumped by more than the device can draw (reset)")
        return CounterDelta(delta_uj)
    wrapped_uj = range_uj - prev_uj + cur_uj
    if wrapped_uj < 0:  # prev was above the declared range: the range is wrong or a reset
        return CounterDelta(0, gap="counter above its declared range (reset?)")
    if wrapped_uj / 1e6 / dt_s <= max_power_w:
        return CounterDelta(wrapped_uj)
    return CounterDelta(0, gap="counter went backwards without a plausible wrap (reset)")


def max_safe_interval_s(range_uj: int, max_power_w: float) -> float:
    """Longest interval between readings at which the counter cannot wrap twice unseen.

    At ``max_power_w`` the counter wraps every ``range / power`` seconds; reading at half that
    keeps a margin for a late tick.
    """
    if range_uj <= 0 or max_power_w <= 0:
        return float("inf")
    return range_uj / 1e6 / max_power_w / 2
