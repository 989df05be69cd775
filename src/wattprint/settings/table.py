"""The table of every setting: name, environment variable, validator, default, flag, doc."""

from __future__ import annotations

from wattprint.errors import ConfigError
from wattprint.settings.validators import (
    CONFIG_NAME,
    DATACENTER_PUE,
    MIN_KEY_BYTES,
    PROGRESS_MODES,
    PUE_HINT,
    PUE_WORDS,
    SCOPES,
    SYNC_MODES,
    Bad,
    as_python,
    as_toml,
    choice,
    parse_checkpoint_s,
    parse_count,
    parse_db,
    parse_gpu_ids,
    parse_intensity_provider,
    parse_interval_s,
    parse_optional_text,
    parse_path,
    parse_project,
    parse_pue,
    parse_signing_key,
    parse_switch,
    parse_tags,
    parse_tdp_w,
    parse_text,
    parse_timeout_s,
    parse_url,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.settings.validators import Parser


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
                    f"{as_toml(self.example)} (or point {env_name('config')} at another file)"
                ) from None
            if where.startswith("--"):
                raise ConfigError(f"{where} {shown} {exc}; e.g. {where} {self.example}") from None
            example = self.example if where.isupper() else as_python(self.example)
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
        parse_text,
        None,
        "grid zone for CO2 (country, `US-CA`, `aws:eu-west-1`, `world`); none: energy only",
        example="DE",
        flag="--zone",
    ),
    Setting(
        "scope",
        None,
        choice(SCOPES),
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
        "predict_after",
        None,
        parse_count,
        1,
        "epochs to measure before predicting the whole training (when its epochs are known)",
        example="2",
    ),
    Setting(
        "progress",
        "WATTPRINT_PROGRESS",
        choice(PROGRESS_MODES),
        "auto",
        "a line per epoch on stderr (energy, W, CO2, predicted total): `auto` on a terminal",
        example="on",
    ),
    Setting(
        "sync",
        None,
        choice(SYNC_MODES),
        "auto",
        "`auto`: wait for queued torch/CuPy GPU work at window edges; `off`",
        example="auto",
    ),
    Setting(
        "db",
        "WATTPRINT_DB",
        parse_db,
        None,
        "run store: a file path, a `postgresql://` URL (a team's shared store), or `off`; "
        "default: `runs.sqlite3` in the user data directory",
        example="runs.sqlite3",
        flag="--db",
    ),
    Setting(
        "tariff",
        "WATTPRINT_TARIFF",
        parse_text,
        None,
        "electricity price per kWh: flat (`0.30`) or by time of day "
        "(`00:00-07:00=0.15,07:00-24:00=0.30`)",
        example="0.30",
        flag="--tariff",
    ),
    Setting(
        "tariff_tz",
        "WATTPRINT_TARIFF_TZ",
        parse_text,
        None,
        "IANA time zone of the tariff's hours; default: UTC",
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
        parse_text,
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
        parse_text,
        None,
        "Electricity Maps API token",
        example="...",
        secret=True,
    ),
    Setting(
        "marginal_provider",
        "WATTPRINT_MARGINAL_PROVIDER",
        choice(("watttime",)),
        None,
        "marginal emissions, reported apart: `watttime`",
        example="watttime",
    ),
    Setting(
        "watttime_region",
        "WATTPRINT_WATTTIME_REGION",
        parse_text,
        None,
        "WattTime region (`CAISO_NORTH`) or `LAT,LON`",
        example="CAISO_NORTH",
    ),
    Setting(
        "watttime_user",
        "WATTPRINT_WATTTIME_USER",
        parse_text,
        None,
        "WattTime user name",
        example="...",
        secret=True,
    ),
    Setting(
        "watttime_password",
        "WATTPRINT_WATTTIME_PASSWORD",
        parse_text,
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
        "network",
        "WATTPRINT_NETWORK",
        parse_switch,
        False,
        "add a network component (bytes moved x a cited kWh/GB factor); scope machine only",
        example="1",
    ),
    Setting(
        "job_id",
        "WATTPRINT_JOB_ID",
        parse_optional_text,
        None,
        "the multi-node job a run belongs to; default: SLURM_JOB_ID, else TORCHELASTIC_RUN_ID",
        example="'llm-pretrain-7'",
    ),
    Setting(
        "node_id",
        "WATTPRINT_NODE_ID",
        parse_optional_text,
        None,
        "this node's name in a multi-node job; default: SLURM_NODEID, else torchrun's "
        "GROUP_RANK, else the hostname (set it where containers share a hostname)",
        example="'node-3'",
    ),
    Setting(
        "job_timeout_s",
        "WATTPRINT_JOB_TIMEOUT_S",
        parse_timeout_s,
        60.0,
        "seconds rank 0 waits for the other ranks' results before writing a partial job record",
        example="60",
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
