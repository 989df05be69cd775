"""The contractual-factors file: what it accepts, one-line errors with file and line, and no
input that raises anything else (hypothesis)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.carbon.contracts import ContractFactor, parse_factors, read_factors
from wattprint.errors import ConfigError

HEAD = "zone,from,to,g_per_kwh,instrument,share_pct,note\n"


def test_a_good_file() -> None:
    (ppa, sup) = parse_factors(
        HEAD
        + "germany,2026-01-01,2026-01-31,0,PPA,60,wind\nFR,2026-01-01,2026-12-31,250,supplier,,\n"
    )
    assert ppa == ContractFactor(
        "DE", date(2026, 1, 1), date(2026, 1, 31), 0.0, "ppa", 60.0, "wind", 2
    )
    assert (sup.share_pct, sup.note, sup.line) == (100.0, "", 3)
    assert ppa.covers("DE", date(2026, 1, 31)) and not ppa.covers("DE", date(2026, 2, 1))
    assert not ppa.covers("FR", date(2026, 1, 5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "factors: empty"),
        ("zone,from\n", "factors:1: columns must be"),
        (HEAD.replace("note", "nope"), "unknown 'nope'"),
        (HEAD + "XX-NOWHERE,2026-01-01,2026-01-31,0,ppa,60,\n", "factors:2:"),
        (
            HEAD + "DE,2026-02-30,2026-03-31,0,ppa,60,\n",
            "factors:2: from '2026-02-30' is not a date",
        ),
        (HEAD + "DE,2026-03-01,2026-02-01,0,ppa,60,\n", "'to' 2026-02-01 is before"),
        (HEAD + "DE,2026-01-01,2026-02-01,-1,ppa,60,\n", "g_per_kwh '-1' is not a number"),
        (HEAD + "DE,2026-01-01,2026-02-01,nan,ppa,60,\n", "g_per_kwh 'nan'"),
        (HEAD + "DE,2026-01-01,2026-02-01,0,offset,60,\n", "instrument 'offset' is not one of"),
        (HEAD + "DE,2026-01-01,2026-02-01,0,ppa,160,\n", "share_pct '160'"),
        (HEAD + "DE,2026-01-01,2026-02-01,0,ppa\n", "factors:2: 5 cells for 7 columns"),
        (HEAD + "DE,2026-01-01,2026-02-01,0,ppa,60,a\x1b[31mb\n", "control characters"),
        (
            HEAD + "DE,2026-01-01,2026-06-30,0,ppa,70,\nDE,2026-06-01,2026-12-31,0,rec,40,\n",
            "lines 2, 3 cover DE on 2026-06-01 with 110 %",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_factors(text)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_files_that_are_not_factor_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        read_factors(str(tmp_path))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00zone")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_factors(str(binary))
    big = tmp_path / "big.csv"
    big.write_text(HEAD + "x" * (1 << 20))
    with pytest.raises(ConfigError, match="over 1 MiB"):
        read_factors(str(big))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(["DE", "2026-01-01", "0", "ppa", "100", "1e999", "-0", '"']),
            ),
            min_size=0,
            max_size=8,
        ),
        max_size=6,
    )
)
def test_no_input_raises_anything_but_a_config_error(rows: list[list[str]]) -> None:
    text = HEAD + "\n".join(",".join(r) for r in rows)
    try:
        for f in parse_factors(text):
            assert 0 <= f.g_per_kwh <= 2000 and 0 <= f.share_pct <= 100 and f.start <= f.end
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_shares_are_checked_day_by_day() -> None:
    halves = HEAD + (
        "DE,2026-01-01,2026-01-15,0,ppa,50,\n"
        "DE,2026-01-16,2026-01-31,0,ppa,50,\n"
        "DE,2026-01-01,2026-01-31,300,supplier,50,\n"
    )
    assert len(parse_factors(halves)) == 3  # every day adds up to 100 %
    many = HEAD + "".join(
        f"DE,{date.fromordinal(738000 + i)},{date.fromordinal(738000 + i)},0,rec,100,\n"
        for i in range(20_000)
    )
    assert len(parse_factors(many)) == 20_000  # a sweep, not every pair
