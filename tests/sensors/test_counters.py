from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wattprint.sensors.counters import counter_delta, max_safe_interval_s

RANGE_UJ = 262_143_328_850  # a real Intel package's max_energy_range_uj


def test_forward_count_is_the_difference() -> None:
    assert counter_delta(100, 350, RANGE_UJ, 1.0, 300).energy_uj == 250


def test_plausible_wrap_adds_across_the_top() -> None:
    d = counter_delta(RANGE_UJ - 1_000_000, 4_000_000, RANGE_UJ, 1.0, 300)
    assert d.gap is None
    assert d.energy_uj == 5_000_000


def test_backwards_without_plausible_wrap_is_a_reset_gap() -> None:
    d = counter_delta(5_000_000_000, 1_000_000, RANGE_UJ, 1.0, 300)
    assert d.energy_uj == 0
    assert d.gap is not None and "reset" in d.gap


def test_value_above_range_is_a_gap() -> None:
    d = counter_delta(RANGE_UJ + 10, 5, RANGE_UJ, 1.0, 300)
    assert d.energy_uj == 0 and d.gap


@given(
    prev=st.integers(0, RANGE_UJ),
    cur=st.integers(0, RANGE_UJ),
    dt=st.floats(0, 1e4, allow_nan=False),
    power=st.floats(0.1, 5000),
)
def test_never_negative_and_bounded(prev: int, cur: int, dt: float, power: float) -> None:
    d = counter_delta(prev, cur, RANGE_UJ, dt, power)
    assert 0 <= d.energy_uj <= RANGE_UJ
    if d.gap is not None:
        assert d.energy_uj == 0


@given(start=st.integers(0, RANGE_UJ), energy=st.integers(0, RANGE_UJ - 1), dt=st.floats(0.01, 100))
def test_single_wrap_recovers_true_energy(start: int, energy: int, dt: float) -> None:
    """Any energy below one full range, read once, is recovered exactly when the power it
    implies is within the zone's maximum."""
    cur = (start + energy) % RANGE_UJ
    d = counter_delta(start, cur, RANGE_UJ, dt, max_power_w=energy / 1e6 / dt + 1)
    assert d.gap is None
    assert d.energy_uj == energy


def test_safe_interval_is_half_the_fastest_wrap() -> None:
    assert max_safe_interval_s(RANGE_UJ, 262.143328850) == 500.0
    assert max_safe_interval_s(0, 100) == float("inf")
