"""Every error and warning class wattprint raises or emits, in one place.

Messages are one line and end with a suggestion, because the CLI prints them as they are::

    Exception
    ├── WattprintError                 everything wattprint raises on purpose
    │   ├── ConfigError (ValueError)   bad input: argument, flag, env variable, config file
    │   │   ├── UsageError             bad command line (the CLI exits 2)
    │   │   └── NoZoneError            nothing names a zone (CO2 needs one; none is guessed)
    │   ├── TrackerStateError (RuntimeError)  a Tracker call in the wrong state
    │   │   └── IncorrectMethodSequenceError  the same, as compat.eco2ai names it
    │   ├── SensorError                a sensor could not be read: the interval is a gap
    │   │   ├── SensorPermissionError  it exists, but this user may not read it (RAPL)
    │   │   └── SensorUnavailableError it does not exist here
    │   │       └── GpuLostError       the GPU fell off the bus (for the rest of the run)
    │   ├── ProviderError              a live intensity provider gave no usable data
    │   │   └── UnsupportedZoneError   the provider does not cover the zone
    │   ├── StoreError                 the run store cannot be opened, read or written
    │   │   └── StoreReadOnlyError     its file or directory is read-only
    │   ├── SigningError               the HMAC chain cannot be extended with this key
    │   ├── ExportError                a record cannot be written where asked
    │   ├── InvalidRecordError (ValueError)  a record holds an impossible value
    │   └── RecordImportError (ValueError)  a file of records cannot be imported
    └── UserWarning
        └── WattprintWarning           a measurement problem that does not stop the run

Users catch :class:`WattprintError` (or :class:`ConfigError` for bad input) and filter
:class:`WattprintWarning`; all of these are importable from ``wattprint`` itself.
"""

from __future__ import annotations


class WattprintError(Exception):
    """Base class of every error wattprint raises on purpose."""


class ConfigError(WattprintError, ValueError):
    """Bad input from the user: an argument, an environment variable or a config value."""


class UsageError(ConfigError):
    """Bad command-line input (the CLI prints it on one line and exits 2)."""


class NoZoneError(ConfigError):
    """Nothing names a zone (as opposed to a zone that is named but wrong)."""


class TrackerStateError(WattprintError, RuntimeError):
    """A Tracker method was called in the wrong state (stop before start, unknown window...)."""


class IncorrectMethodSequenceError(TrackerStateError):
    """Eco2AI's name for a call in the wrong order (``wattprint.compat.eco2ai``), kept for
    scripts that catch it."""


class SensorError(WattprintError):
    """A sensor could not be read. The run goes on; the sensor's interval is marked a gap."""


class SensorPermissionError(SensorError):
    """The sensor exists but the current user may not read it (e.g. RAPL since CVE-2020-8694)."""


class SensorUnavailableError(SensorError):
    """The sensor does not exist on this machine (no powercap tree, no such device)."""


class GpuLostError(SensorUnavailableError):
    """The GPU fell off the bus (NVML_ERROR_GPU_IS_LOST); it stays a gap for the rest of the run."""


class ProviderError(WattprintError):
    """A live provider could not give data (HTTP error, timeout, garbage). One line, redacted."""


class UnsupportedZoneError(ProviderError):
    """The provider does not cover this zone (degrades to the static table like any failure)."""


class StoreError(WattprintError):
    """The run store cannot be opened, read or written."""


class StoreReadOnlyError(StoreError):
    """The database file or its directory is read-only."""


class SigningError(WattprintError):
    """The chain cannot be extended with this key (wrong key, or the store was edited)."""


class ExportError(WattprintError):
    """A record could not be written where asked (e.g. the file has another format)."""


class InvalidRecordError(WattprintError, ValueError):
    """A run record holds a value no run can have (wrong type, not finite, out of range)."""


class RecordImportError(WattprintError, ValueError):
    """A file of run records could not be read (bad format, bad value); names file and line."""


class WattprintWarning(UserWarning):
    """A measurement problem that does not stop the run (fallbacks, gaps, generic CPU)."""
