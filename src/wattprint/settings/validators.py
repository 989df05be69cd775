"""The settings' validators: each takes text (an environment variable, a flag, a config value)
or a Python value (a keyword) and returns the typed value, or raises :class:`Bad` with the
reason; :meth:`wattprint.settings.table.Setting.check` turns that into a one-line ConfigError
that names the setting as the user spelled it."""

from __future__ import annotations

import math
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Parser = Callable[[object], object]

DATACENTER_PUE = 1.58
MIN_INTERVAL_S = 0.01  # faster sampling costs more than it tells: edges are read anyway
MAX_INTERVAL_S = 3600.0
MAX_CHECKPOINT_S = 60.0  # a killed run loses at most this much, and is not taken for dead
MAX_TDP_W = 5000.0
SCOPES = ("process", "machine")
SYNC_MODES = ("auto", "off")
PROGRESS_MODES = ("auto", "on", "off")
DB_OFF_WORDS = ("off", "none", "0", "false", "no")
INTENSITY_PROVIDERS = ("neso", "energidata", "electricitymaps")
SECRET_SHOWN = "(set, hidden)"
PUE_WORDS = ("datacenter", "cloud")
PUE_HINT = (
    "give facility energy / IT energy, a number >= 1.0 (1 = no overhead), 'datacenter' "
    f"({DATACENTER_PUE:g}, the industry average) or 'cloud' (the cloud region's published PUE)"
)
CONFIG_NAME = "config.toml"
MAX_CONFIG_BYTES = 1 << 20


class Bad(ValueError):  # noqa: N818 - never escapes this module
    """A validator's complaint: the reason and what to give instead (no setting name: the
    caller adds how the user spelled it)."""


MAX_TEXT_CHARS = 1024


def parse_text(value: object) -> str:
    """Non-empty text that can be stored, exported and printed as it is: valid UTF-8 (no
    undecodable bytes from the command line, no lone surrogates), no control characters
    (terminal escapes, newlines that would forge lines in logs and CSV), bounded length."""
    if not isinstance(value, str):
        raise Bad(f"must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise Bad("is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("is not valid UTF-8 text (an undecodable byte or a lone surrogate)") from None
    if any(c < " " or "\x7f" <= c <= "\x9f" for c in text):
        raise Bad("contains control characters (such as newlines or terminal escapes)")
    if len(text) > MAX_TEXT_CHARS:
        raise Bad(f"is longer than {MAX_TEXT_CHARS} characters")
    return text


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise Bad("must be a number, not a bool")
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise Bad("is not a number") from None
    if not isinstance(value, (int, float)):
        raise Bad(f"must be a number, got {type(value).__name__}")
    return float(value)


def _finite(value: object) -> float:
    v = _number(value)
    if not math.isfinite(v):
        raise Bad("is not a finite number")
    return v


def parse_project(value: object) -> str:
    return parse_text(value)


def parse_optional_text(value: object) -> str:
    return parse_text(value)


def parse_tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # a flag or variable: comma-separated
        items: list[object] = [t for t in value.split(",") if t.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise Bad("must be a list of tags, such as ['baseline', 'fp16']")
    tags = []
    for item in items:
        try:
            tags.append(parse_text(item))
        except Bad as exc:
            raise Bad(f"has a tag {item!r} that {exc}") from None
    return tuple(tags)


def choice(options: tuple[str, ...]) -> Parser:
    def parse(value: object) -> str:
        text = parse_text(value).lower()
        if text not in options:
            raise Bad(f"is not one of {', '.join(options)}")
        return text

    return parse


def parse_interval_s(value: object) -> float:
    v = _finite(value)
    if not MIN_INTERVAL_S <= v <= MAX_INTERVAL_S:
        raise Bad(
            f"is out of range: give seconds between samples, {MIN_INTERVAL_S:g} to "
            f"{MAX_INTERVAL_S:g}"
        )
    return v


def parse_count(value: object) -> int:
    """A whole number >= 1 (text from a flag, variable or file too)."""
    if isinstance(value, bool):
        raise Bad("must be a whole number, not a bool")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise Bad("is not a whole number") from None
    if not isinstance(value, int) or value < 1:
        raise Bad("must be a whole number >= 1")
    return value


def parse_timeout_s(value: object) -> float:
    v = _finite(value)
    if not 0 < v <= 3600:
        raise Bad("is out of range: give seconds to wait for the other ranks, up to 3600")
    return v


def parse_checkpoint_s(value: object) -> float:
    v = _finite(value)
    if not 0 < v <= MAX_CHECKPOINT_S:
        raise Bad(
            f"is out of range: give seconds between checkpoints of the record, up to "
            f"{MAX_CHECKPOINT_S:g} (a killed run loses at most that much)"
        )
    return v


def parse_pue(value: object) -> float | str:
    """A number >= 1, ``"datacenter"`` (the industry average) or ``"cloud"`` (the cloud
    region's published PUE, looked up with the zone)."""
    if isinstance(value, str) and value.strip().lower() in ("datacenter", "cloud"):
        word = value.strip().lower()
        return DATACENTER_PUE if word == "datacenter" else word
    try:
        v = _finite(value)
    except Bad:
        v = math.nan
    if not v >= 1.0:
        raise Bad(f"is not a PUE: {PUE_HINT}")
    return v


def parse_tdp_w(value: object) -> float:
    v = _finite(value)
    if not 0 < v < MAX_TDP_W:
        raise Bad("is not a plausible TDP: give the full-load watts of one CPU package")
    return v


def parse_db(value: object) -> str:
    """A path, or ``"off"`` for no run store (also from False, 'none', '0', 'no')."""
    if value is False:
        return "off"
    if value is True:
        raise Bad("must be a path, or False/'off' for no run store")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    text = parse_text(value)
    return "off" if text.lower() in DB_OFF_WORDS else text


def parse_path(value: object) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return parse_text(value)


def parse_gpu_ids(value: object) -> tuple[int | str, ...]:
    if isinstance(value, str):  # a variable or flag: "0,1" or UUIDs
        parts = [p.strip() for p in value.split(",") if p.strip()]
        return tuple(int(p) if p.isascii() and p.isdigit() else p for p in parts)
    if isinstance(value, (list, tuple)) and all(
        isinstance(g, (int, str)) and not isinstance(g, bool) for g in value
    ):
        return tuple(value)
    raise Bad("must be a list of GPU indices or UUIDs")


def parse_switch(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = parse_text(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Bad("is not a switch: give 1 (on) or 0 (off)")


def parse_url(value: object) -> str:
    text = parse_text(value)
    if not text.lower().startswith(("http://", "https://")):
        raise Bad("is not an http(s) URL")
    return text


def parse_signing_key(value: object) -> str:
    text = parse_text(value)
    if len(text.encode()) < MIN_KEY_BYTES:
        raise Bad(
            f"is too short: give at least {MIN_KEY_BYTES} bytes of secret, e.g. the "
            "output of `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return text


MIN_KEY_BYTES = 16


def parse_intensity_provider(value: object) -> str:
    name = parse_text(value).lower()
    if name == "watttime":
        raise Bad(
            "gives marginal emission rates, not the average intensity run CO2 is reported "
            "in: use neso, energidata or electricitymaps, and set marginal_provider="
            "watttime for marginal emissions"
        )
    return name  # checked against the registry of providers when the run's carbon is planned


def as_python(example: str) -> str:
    """An example value as Python writes it (text quoted)."""
    try:
        float(example)
    except ValueError:
        return example if example[:1] in "[\"'" or example == "..." else repr(example)
    return example


def as_toml(example: str) -> str:
    """An example value as TOML writes it (text quoted)."""
    try:
        float(example)
    except ValueError:
        return example if example[:1] in "[\"'" else f'"{example}"'
    return example
