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

import os
import sys

from wattprint.errors import ConfigError
from wattprint.settings.table import (
    BY_NAME,
    SETTINGS,
    Setting,
    env_name,
    env_names,
    markdown_table,
)
from wattprint.settings.validators import (
    CONFIG_NAME,
    DATACENTER_PUE,
    MAX_CHECKPOINT_S,
    MAX_CONFIG_BYTES,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    MIN_KEY_BYTES,
    SCOPES,
    SECRET_SHOWN,
    SYNC_MODES,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "BY_NAME",
    "DATACENTER_PUE",
    "MAX_CHECKPOINT_S",
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "MIN_KEY_BYTES",
    "SCOPES",
    "SECRET_SHOWN",
    "SETTINGS",
    "SYNC_MODES",
    "Setting",
    "Settings",
    "default_config_path",
    "env_name",
    "env_names",
    "markdown_table",
    "resolve",
    "setting",
]


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
    predict_after: int
    progress: str
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
    network: bool
    job_id: str | None
    node_id: str | None
    job_timeout_s: float
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
        """The values with every secret that is set replaced by a marker (and the password
        of a PostgreSQL store's URL)."""
        from wattprint.records.paths import shown_store

        shown = {
            s.name: SECRET_SHOWN if s.secret and self._values[s.name] else self._values[s.name]
            for s in SETTINGS
        }
        if isinstance(shown.get("db"), str):
            shown["db"] = shown_store(shown["db"])
        return shown

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
    from wattprint.settings.config_file import parse_config

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
