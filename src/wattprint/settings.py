"""Every setting wattprint reads: one table, one order of precedence, one set of validators.

A setting's value comes from, first to last: the caller (a ``Tracker(...)`` keyword or a CLI
flag), its environment variable, the config file, its default. :func:`resolve` does that once
and returns a frozen, validated :class:`Settings` that also says where each value came from
(``settings.source("zone")`` -> ``"env WATTPRINT_ZONE"``; ``wattprint settings`` prints them all).

The config file is TOML with the settings' names as keys (``zone = "DE"``, ``interval_s = 5``),
at ``$WATTPRINT_CONFIG`` or ``config.toml`` in the user config directory; it is read only when it
exists. Secrets (tokens, passwords, the signing key) are never printed: :meth:`Settings.shown`
redacts them.

The table is the single source for the Tracker's and the CLI's checks (the same validator, the
message naming what the user typed: ``interval_s``, ``--interval`` or ``WATTPRINT_...``), for
the tests' environment isolation and for the settings tables in the README and ``docs/``
(:func:`markdown_table`; ``python scripts/gen_settings_docs.py`` rewrites them, a test checks).

Cheap to import on purpose (``from wattprint import Tracker`` loads it): no ``typing``, no
``dataclasses``, no ``pathlib``.
"""

from __future__ import annotations

import math
import os
import sys

from wattprint.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Parser = Callable[[object], object]

#: Uptime Institute Global Data Center Survey 2023: average annual PUE of the data centres
#: surveyed (1.58). For a generic data centre when the operator publishes nothing better.
DATACENTER_PUE = 1.58
MIN_INTERVAL_S = 0.01  # faster sampling costs more than it tells: edges are read anyway
MAX_INTERVAL_S = 3600.0
MAX_CHECKPOINT_S = 60.0  # a killed run loses at most this much, and is not taken for dead
MAX_TDP_W = 5000.0
SCOPES = ("process", "machine")
SYNC_MODES = ("auto", "off")
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


# -- validators: each takes text (env, flag, file) or a Python value (keyword) ----------------


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise Bad(f"must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise Bad("is empty")
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
    return _text(value)


def parse_optional_text(value: object) -> str:
    return _text(value)


def parse_tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # a flag or variable: comma-separated
        items: list[object] = [t.strip() for t in value.split(",") if t.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise Bad("must be a list of tags")
    if not all(isinstance(t, str) and t.strip() for t in items):
        raise Bad("must be a list of non-empty strings")
    return tuple(str(t).strip() for t in items)


def _choice(options: tuple[str, ...]) -> Parser:
    def parse(value: object) -> str:
        text = _text(value).lower()
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
    text = _text(value)
    return "off" if text.lower() in DB_OFF_WORDS else text


def parse_path(value: object) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return _text(value)


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
    text = _text(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Bad("is not a switch: give 1 (on) or 0 (off)")


def parse_url(value: object) -> str:
    text = _text(value)
    if not text.lower().startswith(("http://", "https://")):
        raise Bad("is not an http(s) URL")
    return text


def parse_signing_key(value: object) -> str:
    text = _text(value)
    if len(text.encode()) < MIN_KEY_BYTES:
        raise Bad(
            f"is too short: give at least {MIN_KEY_BYTES} bytes of secret, e.g. the "
            "output of `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return text


MIN_KEY_BYTES = 16


def parse_intensity_provider(value: object) -> str:
    name = _text(value).lower()
    if name == "watttime":
        raise Bad(
            "gives marginal emission rates, not the average intensity run CO2 is reported "
            "in: use neso, energidata or electricitymaps, and set marginal_provider="
            "watttime for marginal emissions"
        )
    return name  # checked against the registry of providers when the run's carbon is planned


def _python(example: str) -> str:
    """An example value as Python writes it (text quoted)."""
    try:
        float(example)
    except ValueError:
        return example if example[:1] in "[\"'" or example == "..." else repr(example)
    return example


def _toml(example: str) -> str:
    """An example value as TOML writes it (text quoted)."""
    try:
        float(example)
    except ValueError:
        return example if example[:1] in "[\"'" else f'"{example}"'
    return example


# -- the table --------------------------------------------------------------------------------


class Setting:
    """One row of the table. ``flag`` is the ``wattprint run`` option, if it has one;
    ``env`` its environment variable, if it has one; ``example`` a valid value for messages."""

    __slots__ = ("default", "doc", "env", "example", "flag", "in_file", "name", "parse", "secret")

    def __init__(
        self,
        name: str,
        env: str | None,
        parse: Parser,
        default: object,
        doc: str,
        *,
        example: str,
        flag: str | None = None,
        secret: bool = False,
        in_file: bool = True,
    ) -> None:
        self.name, self.env, self.parse, self.default, self.doc = name, env, parse, default, doc
        self.example, self.flag, self.secret, self.in_file = example, flag, secret, in_file

    def check(self, value: object, where: str, *, text: bool = True, file: str = "") -> object:
        """The validated value; ConfigError naming ``where`` as the user spelled it (keyword,
        ``--flag``, variable; with ``file``, a key of that config file). ``text=False``: a
        Python value, where a number given as a string is a mistake."""
        try:
            if (
                not text
                and isinstance(value, str)
                and isinstance(self.default, float)
                and value.strip().lower() not in PUE_WORDS
            ):
                pue_hint = f": {PUE_HINT}" if self.name == "pue" else ""
                raise Bad(f"must be a number, not text{pue_hint}")
            return self.parse(value)
        except Bad as exc:
            if self.secret:  # neither the value nor a made-up example
                raise ConfigError(f"{where} {exc}") from None
            shown = repr(value)
            if file:
                raise ConfigError(
                    f"config file {file}: {where} = {shown} {exc}; e.g. {where} = "
                    f"{_toml(self.example)} (or point {env_name('config')} at another file)"
                ) from None
            if where.startswith("--"):
                raise ConfigError(f"{where} {shown} {exc}; e.g. {where} {self.example}") from None
            example = self.example if where.isupper() else _python(self.example)
            raise ConfigError(f"{where}={shown} {exc}; e.g. {where}={example}") from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "project",
        None,
        parse_project,
        "default",
        "project the run is filed under",
        example="'resnet'",
        flag="--project",
    ),
    Setting(
        "experiment",
        None,
        parse_optional_text,
        None,
        "experiment name or description",
        example="'lr-sweep'",
        flag="--experiment",
    ),
    Setting(
        "tags",
        None,
        parse_tags,
        (),
        "tags for finding the run later",
        example="['fp16']",
        flag="--tag",
    ),
    Setting(
        "zone",
        "WATTPRINT_ZONE",
        _text,
        None,
        "grid zone for CO2 (country, `US-CA`, `aws:eu-west-1`, `world`); none: energy only",
        example="DE",
        flag="--zone",
    ),
    Setting(
        "scope",
        None,
        _choice(SCOPES),
        "process",
        "`process`: this process tree's share; `machine`: everything",
        example="process",
        flag="--scope",
    ),
    Setting(
        "interval_s",
        None,
        parse_interval_s,
        1.0,
        "seconds between background samples",
        example="1",
        flag="--interval",
    ),
    Setting(
        "checkpoint_s",
        None,
        parse_checkpoint_s,
        10.0,
        "seconds between checkpoints of a running run in the store (at most 60)",
        example="10",
        flag="--checkpoint",
    ),
    Setting(
        "pue",
        None,
        parse_pue,
        1.0,
        f"data-centre PUE: a number >= 1, `datacenter` ({DATACENTER_PUE:g}) or `cloud`",
        example="1.2",
        flag="--pue",
    ),
    Setting(
        "sync",
        None,
        _choice(SYNC_MODES),
        "auto",
        "`auto`: wait for queued torch/CuPy GPU work at window edges; `off`",
        example="auto",
    ),
    Setting(
        "db",
        "WATTPRINT_DB",
        parse_db,
        None,
        "run store path, or `off`; default: `runs.sqlite3` in the user data directory",
        example="runs.sqlite3",
        flag="--db",
    ),
    Setting(
        "tariff",
        "WATTPRINT_TARIFF",
        _text,
        None,
        "electricity price per kWh: flat (`0.30`) or by time of day "
        "(`00:00-07:00=0.15,07:00-24:00=0.30`)",
        example="0.30",
        flag="--tariff",
    ),
    Setting(
        "tariff_tz",
        "WATTPRINT_TARIFF_TZ",
        _text,
        None,
        "IANA time zone of the tariff's hours; default: the machine's",
        example="Europe/Berlin",
    ),
    Setting(
        "cpu_tdp_w",
        "WATTPRINT_CPU_TDP_W",
        parse_tdp_w,
        None,
        "full-load watts of one CPU package, for the CPU model (overrides the database)",
        example="150",
    ),
    Setting(
        "cpu_model",
        "WATTPRINT_CPU_MODEL",
        _text,
        None,
        "CPU model name to look up in the TDP database instead of the detected one",
        example="'Xeon Gold 6248'",
    ),
    Setting(
        "gpu_ids",
        None,
        parse_gpu_ids,
        None,
        "GPUs to measure (indices or UUIDs); default: CUDA_VISIBLE_DEVICES / all",
        example="[0, 1]",
    ),
    Setting(
        "powercap_dir",
        "WATTPRINT_POWERCAP_DIR",
        parse_path,
        "/sys/class/powercap",
        "powercap sysfs root (containers with a bind-mounted sysfs)",
        example="/host/sys/class/powercap",
    ),
    Setting(
        "intensity_provider",
        "WATTPRINT_INTENSITY_PROVIDER",
        parse_intensity_provider,
        None,
        "live hourly intensity: `neso`, `energidata` or `electricitymaps`",
        example="neso",
    ),
    Setting(
        "electricitymaps_token",
        "WATTPRINT_ELECTRICITYMAPS_TOKEN",
        _text,
        None,
        "Electricity Maps API token",
        example="...",
        secret=True,
    ),
    Setting(
        "marginal_provider",
        "WATTPRINT_MARGINAL_PROVIDER",
        _choice(("watttime",)),
        None,
        "marginal emissions, reported apart: `watttime`",
        example="watttime",
    ),
    Setting(
        "watttime_region",
        "WATTPRINT_WATTTIME_REGION",
        _text,
        None,
        "WattTime region (`CAISO_NORTH`) or `LAT,LON`",
        example="CAISO_NORTH",
    ),
    Setting(
        "watttime_user",
        "WATTPRINT_WATTTIME_USER",
        _text,
        None,
        "WattTime user name",
        example="...",
        secret=True,
    ),
    Setting(
        "watttime_password",
        "WATTPRINT_WATTTIME_PASSWORD",
        _text,
        None,
        "WattTime password",
        example="...",
        secret=True,
    ),
    Setting(
        "signing_key",
        "WATTPRINT_SIGNING_KEY",
        parse_signing_key,
        None,
        f"HMAC key (>= {MIN_KEY_BYTES} bytes) chaining the store's records; never stored",
        example="...",
        secret=True,
    ),
    Setting(
        "cloud_metadata",
        "WATTPRINT_CLOUD_METADATA",
        parse_switch,
        False,
        "ask the cloud instance metadata service for the zone when none is set",
        example="1",
    ),
    Setting(
        "ip_geolocation",
        "WATTPRINT_IP_GEOLOCATION",
        parse_switch,
        False,
        "locate the zone from the public IP when nothing else names one (approximate)",
        example="1",
    ),
    Setting(
        "ip_geolocation_url",
        "WATTPRINT_IP_GEOLOCATION_URL",
        parse_url,
        "https://ipapi.co/json/",
        "IP geolocation service (answers country and region)",
        example="https://ipapi.co/json/",
    ),
    Setting(
        "config",
        "WATTPRINT_CONFIG",
        parse_path,
        None,
        f"config file; default: `{CONFIG_NAME}` in the user config directory",
        example="~/wattprint.toml",
        in_file=False,
    ),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def env_name(name: str) -> str:
    """The environment variable of a setting (for messages that tell the user what to set)."""
    env = BY_NAME[name].env
    assert env is not None, name
    return env


def env_names() -> tuple[str, ...]:
    return tuple(s.env for s in SETTINGS if s.env)


# -- the resolved settings --------------------------------------------------------------------


class Settings:
    """The resolved, validated settings (frozen). Built by :func:`resolve`."""

    __slots__ = ("_sources", "_values", "config_path")

    _values: dict[str, object]
    _sources: dict[str, str]
    config_path: str  # the config file that was (or would have been) read

    project: str
    experiment: str | None
    tags: tuple[str, ...]
    zone: str | None
    scope: str
    interval_s: float
    checkpoint_s: float
    pue: float | str  # a number, or "cloud" until the zone gives the region's figure
    sync: str
    db: str | None  # a path, "off", or None for the user data directory's store
    tariff: str | None
    tariff_tz: str | None
    cpu_tdp_w: float | None
    cpu_model: str | None
    gpu_ids: tuple[int | str, ...] | None
    powercap_dir: str
    intensity_provider: str | None
    electricitymaps_token: str | None
    marginal_provider: str | None
    watttime_region: str | None
    watttime_user: str | None
    watttime_password: str | None
    signing_key: str | None
    cloud_metadata: bool
    ip_geolocation: bool
    ip_geolocation_url: str
    config: str | None

    def __init__(self, values: dict[str, object], sources: dict[str, str], config_path: str):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_sources", sources)
        object.__setattr__(self, "config_path", config_path)

    def __getattr__(self, name: str) -> object:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are frozen: resolve() new ones")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.shown().items())
        return f"Settings({shown})"

    def source(self, name: str) -> str:
        """Where a value came from: ``argument``, ``env VAR``, ``config PATH`` or ``default``."""
        return self._sources[name]

    def shown(self) -> dict[str, object]:
        """The values with every secret that is set replaced by a marker."""
        return {
            s.name: SECRET_SHOWN if s.secret and self._values[s.name] else self._values[s.name]
            for s in SETTINGS
        }

    @property
    def store_off(self) -> bool:
        return self.db == "off"


def default_config_path(environ: Mapping[str, str]) -> str:
    """``config.toml`` in the user config directory. On Linux that is the XDG rule (what
    platformdirs answers), computed here so that resolving settings imports nothing."""
    if sys.platform.startswith("linux"):
        base = environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return os.path.join(base, "wattprint", CONFIG_NAME)
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("wattprint", appauthor=False), CONFIG_NAME)


def _read_config(path: str, named: bool) -> dict[str, object]:
    """The config file's table; {} for a missing default file. A missing file that was named,
    an unreadable, oversized or malformed one, or an unknown key is a ConfigError."""
    var = env_name("config")
    hint = f"fix it or point {var} at another file"
    try:
        # Non-blocking, and checked before reading: a FIFO must not hang, /dev/zero not fill
        # memory.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        if named:
            raise ConfigError(
                f"config file {path} does not exist: create it or unset {var}"
            ) from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path} ({exc.strerror}): {hint}") from None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"cannot read config file {path} (not a regular file): {hint}")
        raw = os.read(fd, MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path} ({exc.strerror}): {hint}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES} bytes: {hint}")
    from wattprint.config_file import parse_config

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read config file {path} (not UTF-8): {hint}") from None
    try:
        data = parse_config(text)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"config file {path} is not valid TOML ({reason}): {hint}") from None
    for key in data:
        setting = BY_NAME.get(key)
        if setting is None or not setting.in_file:
            raise ConfigError(
                f"config file {path}: unknown key {key!r}; the keys are the settings' names "
                f"(`wattprint settings` lists them): {hint}"
            )
    return data


def resolve(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: bool = False,
) -> Settings:
    """Resolve every setting: ``overrides`` (keywords or flags; None means not given), then the
    environment, then the config file, then the default. ``flags=True`` names the CLI flags in
    messages. Raises ConfigError, naming the source, for any bad value."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(given) - set(BY_NAME)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; see `wattprint "
            "settings` for the list"
        )
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    file_data: dict[str, object] | None = None
    named = given.get("config") or env.get(env_name("config"), "").strip() or None
    config_path = os.path.expanduser(
        str(BY_NAME["config"].check(named, "config")) if named else default_config_path(env)
    )
    for s in SETTINGS:
        if s.name in given:
            where = (s.flag or s.name) if flags else s.name
            values[s.name] = s.check(given[s.name], where, text=flags)
            sources[s.name] = "argument"
            continue
        raw = env.get(s.env, "") if s.env else ""
        if raw.strip():
            values[s.name] = s.check(raw, s.env or s.name)
            sources[s.name] = f"env {s.env}"
            continue
        if s.in_file:
            if file_data is None:
                file_data = _read_config(config_path, named=named is not None)
            if s.name in file_data:
                values[s.name] = s.check(file_data[s.name], s.name, file=config_path)
                sources[s.name] = f"config {config_path}"
                continue
        values[s.name] = s.default
        sources[s.name] = "default"
    return Settings(values, sources, config_path)


def setting(
    name: str,
    given: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: bool = False,
) -> object:
    """One setting's value alone (``given``, else env, else config file, else default), for
    commands that need just that one: a bad value elsewhere is not their problem."""
    env = os.environ if environ is None else environ
    s = BY_NAME[name]
    if given is not None:
        return s.check(given, (s.flag or s.name) if flags else s.name)
    raw = env.get(s.env, "") if s.env else ""
    if raw.strip():
        return s.check(raw, s.env or s.name)
    if s.in_file:
        named = env.get(env_name("config"), "").strip() or None
        path = os.path.expanduser(named) if named else default_config_path(env)
        data = _read_config(path, named=named is not None)
        if name in data:
            return s.check(data[name], name, file=path)
    return s.default


def markdown_table() -> str:
    """The settings table of the README and docs (generated; a test keeps them in step)."""
    rows = [
        "| setting | environment variable | `wattprint run` flag | default | what it is |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = "—" if s.default in (None, ()) else f"`{s.default}`"
        env = f"`{s.env}`" if s.env else "—"
        flag = f"`{s.flag}`" if s.flag else "—"
        rows.append(f"| `{s.name}` | {env} | {flag} | {default} | {s.doc} |")
    return "\n".join(rows) + "\n"
