"""The settings table: precedence, validation naming the source, secrets, the generated docs,
and the rule that no other module reads a wattprint variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.errors import ConfigError
from wattprint.settings import (
    BY_NAME,
    SECRET_SHOWN,
    SETTINGS,
    env_name,
    markdown_table,
    resolve,
    setting,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "wattprint"
TABLE_DOCS = [ROOT / "README.md", ROOT / "docs" / "settings.md"]
BEGIN, END = "<!-- settings-table:begin -->", "<!-- settings-table:end -->"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wattprint.toml"
    path.write_text(text)
    return path


def test_precedence_argument_env_config_default(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'zone = "FR"\ninterval_s = 5\nscope = "machine"\n')
    env = {"WATTPRINT_CONFIG": str(cfg), "WATTPRINT_ZONE": "DE"}
    s = resolve({"scope": "process"}, environ=env)
    assert (s.scope, s.source("scope")) == ("process", "argument")
    assert (s.zone, s.source("zone")) == ("DE", "env WATTPRINT_ZONE")
    assert (s.interval_s, s.source("interval_s")) == (5.0, f"config {cfg}")
    assert (s.checkpoint_s, s.source("checkpoint_s")) == (10.0, "default")
    blank = resolve({}, environ={**env, "WATTPRINT_ZONE": "  "})  # blank variable: unset
    assert blank.zone == "FR"


def test_settings_are_frozen_and_compare_by_value() -> None:
    a, b = resolve({}, environ={}), resolve({}, environ={})
    assert a == b
    with pytest.raises(AttributeError):
        a.zone = "DE"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = a.no_such_setting  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given", "environ", "flags", "message"),
    [
        ({"interval_s": 0}, {}, False, "interval_s=0 is out of range"),
        ({"interval_s": "0"}, {}, True, "--interval '0' is out of range"),
        ({}, {"WATTPRINT_CPU_TDP_W": "lots"}, False, "WATTPRINT_CPU_TDP_W='lots' is not a number"),
        ({"checkpoint_s": 61}, {}, False, "up to 60"),
        ({"scope": "node"}, {}, True, "--scope 'node' is not one of process, machine"),
        ({"db": True}, {}, False, "db=True must be a path"),
        ({}, {"WATTPRINT_IP_GEOLOCATION": "maybe"}, False, "is not a switch"),
    ],
)
def test_a_bad_value_names_how_the_user_gave_it(
    given: dict[str, object], environ: dict[str, str], flags: bool, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        resolve(given, environ=environ, flags=flags)
    assert "\n" not in str(info.value) and "e.g." in str(info.value)


def test_unknown_keyword_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        resolve({"zoen": "DE"}, environ={})


def test_python_numbers_are_numbers_text_numbers_are_parsed() -> None:
    with pytest.raises(ConfigError, match="must be a number, not text"):
        resolve({"interval_s": "5"}, environ={})
    assert resolve({"interval_s": "5"}, environ={}, flags=True).interval_s == 5.0
    assert resolve({"pue": "datacenter"}, environ={}).pue == 1.58


def test_db_off_words_and_paths(tmp_path: Path) -> None:
    for word in ("off", "OFF", "none", "0", "false", "no"):
        assert resolve({}, environ={"WATTPRINT_DB": word}).store_off
    assert resolve({"db": False}, environ={}).store_off
    assert resolve({"db": tmp_path / "x.db"}, environ={}).db == str(tmp_path / "x.db")
    assert resolve({}, environ={}).db is None  # the user data directory's store


def test_secrets_are_never_shown(tmp_path: Path) -> None:
    env = {"WATTPRINT_SIGNING_KEY": "k" * 32, "WATTPRINT_ELECTRICITYMAPS_TOKEN": "tok-123"}
    s = resolve({}, environ=env)
    assert s.signing_key == "k" * 32
    shown = s.shown()
    assert shown["signing_key"] == shown["electricitymaps_token"] == SECRET_SHOWN
    assert "tok-123" not in repr(s) and "k" * 32 not in repr(s)
    with pytest.raises(ConfigError) as info:
        resolve({}, environ={"WATTPRINT_SIGNING_KEY": "short-secret"})
    assert "short-secret" not in str(info.value)


def test_one_setting_alone_ignores_bad_others(tmp_path: Path) -> None:
    env = {"WATTPRINT_CPU_TDP_W": "lots", "WATTPRINT_DB": str(tmp_path / "r.db")}
    assert setting("db", environ=env) == str(tmp_path / "r.db")


def test_config_file_that_is_not_a_regular_file_does_not_hang(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        resolve({}, environ={"WATTPRINT_CONFIG": str(fifo)})
    with pytest.raises(ConfigError, match="not a regular file"):
        resolve({}, environ={"WATTPRINT_CONFIG": "/dev/zero"})


def test_every_row_is_complete_and_every_variable_is_ours() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names)) == len(BY_NAME)
    envs = [s.env for s in SETTINGS if s.env]
    assert len(envs) == len(set(envs))
    for s in SETTINGS:
        assert s.doc and s.example
        assert s.env is None or re.fullmatch(r"WATTPRINT_[A-Z0-9_]+", s.env)
        assert env_name(s.name) == s.env if s.env else True
        if s.default is not None and s.default != ():
            # Every default passes its own validator.
            assert s.check(s.default, s.name, text=False) == s.default or s.name == "pue"


def test_no_other_module_names_a_wattprint_variable() -> None:
    """Where a setting comes from is found in one place: no module outside wattprint.settings
    spells a WATTPRINT_ variable (messages get it from env_name())."""
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.parent.name != "settings"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if "WATTPRINT_" in line
    ]
    assert offenders == []


def test_the_docs_tables_are_generated_from_the_table() -> None:
    """README.md and docs/settings.md carry the table between markers; rebuild them with
    `python scripts/gen_settings_docs.py`."""
    for doc in TABLE_DOCS:
        text = doc.read_text()
        assert BEGIN in text and END in text, doc
        inside = text.split(BEGIN, 1)[1].split(END, 1)[0]
        assert inside.strip() == markdown_table().strip(), (
            f"{doc} is out of date: run python scripts/gen_settings_docs.py"
        )


@given(st.text(max_size=40))
def test_validators_raise_only_config_errors(text: str) -> None:
    """Whatever text arrives from a variable or a flag, the answer is a value or one line."""
    for s in SETTINGS:
        if s.name == "config":
            continue
        try:
            s.check(text, s.env or s.name)
        except ConfigError as exc:
            assert "\n" not in str(exc) or "\n" in text
