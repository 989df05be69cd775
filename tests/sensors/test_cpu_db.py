from __future__ import annotations

import csv
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattprint.sensors.cpu_db import CpuSpec, is_generic, lookup, normalise


def _db_rows() -> list[dict[str, str]]:
    text = (files("wattprint.data") / "cpu_tdp.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


ROWS = _db_rows()
BY_KEY = {r["key"]: r for r in ROWS}


def _tdp(name: str) -> float:
    """The bundled table's TDP for a model, so a case fails loudly if the row disappears."""
    return float(BY_KEY[normalise(name)]["tdp_w"])


def _write_db(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["vendor", "name", "key", "tdp_w", "cores", "source"])
        for vendor, name, tdp in rows:
            w.writerow([vendor, name, normalise(name), tdp, "", "test"])
    return path


# --- the bundled table -----------------------------------------------------------------------


def test_table_holds_at_least_5000_models() -> None:
    assert len(ROWS) >= 5000
    assert len(BY_KEY) == len(ROWS)  # one row per key


def test_every_row_is_sane() -> None:
    for r in ROWS:
        assert 0 < float(r["tdp_w"]) < 1000, r
        assert r["source"], r
        assert set(r["source"].split(";")) <= {
            "eco2ai-0.3.12",
            "codecarbon-3.3.2",
            "green-algorithms-v3.0",
        }, r
        assert r["vendor"] and r["name"], r
        assert r["cores"] == "" or int(r["cores"]) > 0, r


def test_keys_are_the_normalised_names_sorted_and_never_generic() -> None:
    keys = [r["key"] for r in ROWS]
    assert keys == sorted(keys)
    for r in ROWS:
        assert normalise(r["name"]) == r["key"], r
        assert not is_generic(r["name"]), r


def test_notice_names_every_source_and_licence() -> None:
    text = (files("wattprint.data") / "cpu_tdp.NOTICE.md").read_text(encoding="utf-8")
    for needle in (
        "codecarbon-3.3.2",
        "eco2ai-0.3.12",
        "green-algorithms-v3.0",
        "MIT",
        "Apache",
        "CC BY 4.0",
        "Lannelongue, Grealey, Inouye",
        "Advanced Science",
    ):
        assert needle in text


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "tdp"),
    [
        ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248", 150.0),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280.0),
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "Intel Core i7-8700K", 95.0),
        ("AMD Ryzen 9 5950X 16-Core Processor", "AMD Ryzen 9 5950X", 105.0),
        ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "Intel Xeon Platinum 8375C", 300.0),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4", 145.0),
        ("Intel(R) Xeon(R) Gold 6248R", "Intel Xeon Gold 6248R", 205.0),
        ("AMD Ryzen 7 5800X3D 8-Core Processor", "AMD Ryzen 7 5800X3D", 105.0),
        ("AMD Ryzen 7 5800X 8-Core Processor", "AMD Ryzen 7 5800X", 105.0),
        ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "Intel Core i7-1165G7", 28.0),
        ("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "Intel Xeon E5-2670", 115.0),
        ("Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz", "Intel Core 2 Duo E8400", 65.0),
        ("AMD Ryzen 5 PRO 4650G with Radeon Graphics", "AMD Ryzen 5 PRO 4650G", 65.0),
        ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "AMD Ryzen AI 9 HX 370", 28.0),
        ("Pentium(R) Dual-Core  CPU      E5200  @ 2.50GHz", "Intel Pentium Dual-Core E5200", 65.0),
    ],
)
def test_known_names(raw: str, name: str, tdp: float) -> None:
    spec = lookup(raw)
    assert spec is not None
    assert (spec.name, spec.tdp_w) == (name, tdp)
    assert spec.tdp_w == _tdp(name)  # the value asserted is the table's


def test_version_suffix_is_part_of_the_model() -> None:
    # v3 and v4 are both in the table with different TDPs; each name finds its own row.
    assert _tdp("Intel Xeon E5-2686 v3") != _tdp("Intel Xeon E5-2686 v4")
    v3 = lookup("Intel(R) Xeon(R) CPU E5-2686 v3 @ 2.30GHz")
    v4 = lookup("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz")
    assert v3 is not None and v3.name == "Intel Xeon E5-2686 v3"
    assert v4 is not None and v4.name == "Intel Xeon E5-2686 v4"


def test_suffix_letters_are_part_of_the_model() -> None:
    plain, suffixed = lookup("Intel(R) Xeon(R) Gold 6248"), lookup("Intel(R) Xeon(R) Gold 6248R")
    assert plain is not None and suffixed is not None
    assert plain.tdp_w != suffixed.tdp_w


def test_missing_suffixed_model_is_none_not_the_plain_one(tmp_path: Path) -> None:
    db = _write_db(tmp_path / "t.csv", [("Intel", "Intel Xeon Gold 6248", 150.0)])
    assert lookup("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", db) is not None
    for raw in (
        "Intel(R) Xeon(R) Gold 6248R",
        "Intel Xeon Gold 6248K",
        "Intel Xeon Gold 6248 v2",
        "Intel Xeon Gold 62480",
        "Intel Xeon Gold 624",
    ):
        assert lookup(raw, db) is None, raw


def test_model_number_match_tolerates_brand_words_only(tmp_path: Path) -> None:
    db = _write_db(
        tmp_path / "t.csv",
        [
            ("AMD", "AMD 6274", 115.0),
            ("Intel", "Intel Xeon Gold 6274", 140.0),
            ("Intel", "Intel Celeron 530", 35.0),
        ],
    )
    opteron = lookup("AMD Opteron(tm) Processor 6274", db)
    assert opteron is not None and (opteron.name, opteron.tdp_w) == ("AMD 6274", 115.0)
    assert lookup("AMD Opteron(tm) Processor 6274 HE", db) is None  # HE is another model
    assert lookup("AMD Ryzen PRO 6274", db) is None  # "PRO" is not a brand word
    assert lookup("Intel Pentium 530", db) is None  # a Celeron row never answers for a Pentium
    assert lookup("Intel Xeon 6274", db) is None  # the row says Gold; the query does not


def test_rows_sharing_a_model_number_with_different_tdps_are_ambiguous(tmp_path: Path) -> None:
    db = _write_db(tmp_path / "t.csv", [("AMD", "AMD 945", 125.0), ("AMD", "AMD Phenom 945", 95.0)])
    assert lookup("AMD Phenom(tm) II 945 Processor", db) is None
    same = _write_db(
        tmp_path / "s.csv", [("AMD", "AMD 945", 95.0), ("AMD", "AMD Phenom 945", 95.0)]
    )
    spec = lookup("AMD Phenom(tm) II 945 Processor", same)
    assert spec is not None and spec.name == "AMD Phenom 945"  # the closer name


def test_model_number_match_in_the_bundled_table() -> None:
    # codecarbon lists this Phenom II as plain "B60"; the full reported name still finds it.
    spec = lookup("AMD Phenom(tm) II X4 B60 Processor")
    assert spec is not None and spec.name == "AMD B60" and spec.tdp_w == _tdp("AMD B60")


GENERIC = [
    "Intel(R) Xeon(R) Processor",
    "Intel Xeon Processor (Skylake, IBRS)",
    "Intel Xeon Processor (Icelake)",
    "Intel Core Processor (Broadwell, IBRS)",
    "Intel(R) Xeon(R) CPU @ 2.20GHz",
    "AMD EPYC Processor",
    "AMD EPYC-Rome Processor",
    "QEMU Virtual CPU version 2.5+",
    "Common KVM processor",
    "Westmere E56xx/L56xx/X56xx (Nehalem-C)",
    "ARMv8 Processor rev 1 (v8l)",
    "",
    "   ",
]


@pytest.mark.parametrize("raw", GENERIC)
def test_generic_names(raw: str) -> None:
    assert is_generic(raw)
    assert lookup(raw) is None


@pytest.mark.parametrize(
    "raw", ["Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Apple M1", "AMD EPYC 7B12"]
)
def test_named_models_are_not_generic(raw: str) -> None:
    assert not is_generic(raw)


def test_unknown_model_is_none() -> None:
    assert lookup("Intel(R) Xeon(R) Platinum 9999Z CPU @ 2.90GHz") is None


def test_lookup_returns_cpu_spec_with_table_fields() -> None:
    spec = lookup("AMD EPYC 7763 64-Core Processor")
    assert isinstance(spec, CpuSpec)
    row = BY_KEY["amd epyc 7763"]
    assert spec == CpuSpec(
        row["vendor"],
        row["name"],
        float(row["tdp_w"]),
        int(row["cores"]) if row["cores"] else None,
        row["source"],
    )
    assert spec.vendor == "AMD"


def test_import_does_no_work() -> None:
    code = (
        "import wattprint.sensors.cpu_db as m\n"
        "assert m._text.cache_info().currsize == 0\n"
        "m.lookup('AMD EPYC 7763')\n"
        "assert m._text.cache_info().currsize == 1\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --- normalise --------------------------------------------------------------------------------


def test_normalise_examples() -> None:
    assert normalise("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz") == "intel xeon gold 6248"
    assert normalise("AMD EPYC 7763 64-Core Processor") == "amd epyc 7763"
    assert normalise("EPYC 7763") == "amd epyc 7763"  # vendor inferred from the brand
    assert normalise("Mobile AMD Athlon 64 3200+") == normalise("AMD Mobile Athlon 64 3200+")
    assert normalise("Intel Pentium 4 3.60GHz") == "intel pentium 4 3.60ghz"  # speed is the model


def test_normalise_is_idempotent_on_the_table() -> None:
    for r in ROWS:
        assert normalise(r["key"]) == r["key"]


@given(st.text())
@settings(max_examples=500)
def test_normalise_never_raises_and_is_idempotent(raw: str) -> None:
    key = normalise(raw)
    assert normalise(key) == key
    assert key == key.strip() and "  " not in key


_PIECES = st.sampled_from(
    [
        "intel",
        "amd",
        "(r)",
        "(tm)",
        "cpu",
        "@",
        "2.50ghz",
        "core",
        "dual-core",
        "16-core",
        "with",
        "w/",
        "6248",
        "e5-2686",
        "v4",
        "0",
        "(",
        ")",
        "[3]",
        "11th gen",
        "i7",
        "920",
        "x",
        "-",
        ".",
        "+",
        "qemu",
        "\u200b",
        "\xa0",
        "ryzen",
        "fx",
        "mhz",
        "1.40",
        "core2",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map(" ".join))
@settings(max_examples=500)
def test_normalise_is_idempotent_on_cpu_like_text(raw: str) -> None:
    key = normalise(raw)
    assert normalise(key) == key


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_lookup_never_raises(raw: str) -> None:
    spec = lookup(raw)
    assert spec is None or spec.tdp_w > 0


@given(
    row=st.sampled_from(ROWS),
    marks=st.lists(st.sampled_from(["", "(R)", "(TM)", "®", "™"]), min_size=12, max_size=12),
    prefix=st.sampled_from(["", "11th Gen ", "  "]),
    suffix=st.sampled_from(
        [
            "",
            " CPU @ 3.10GHz",
            " Processor",
            " 8-Core Processor",
            " with Radeon Graphics",
            " w/ Radeon 780M Graphics",
            "  CPU      @ 2.2GHz  ",
        ]
    ),
    upper=st.booleans(),
)
@settings(max_examples=400)
def test_noise_around_a_table_name_finds_the_same_row(
    row: dict[str, str], marks: list[str], prefix: str, suffix: str, upper: bool
) -> None:
    words = row["name"].split()
    noisy = prefix + " ".join(w + marks[i % len(marks)] for i, w in enumerate(words)) + suffix
    if upper:
        noisy = noisy.upper()
    spec = lookup(noisy)
    assert spec is not None, noisy
    assert spec.name == row["name"] and spec.tdp_w == float(row["tdp_w"]), noisy
