"""Typed errors. Every error wattprint raises derives from :class:`WattprintError`.

Messages are one line and end with a suggestion, because the CLI prints them as they are.
"""

from __future__ import annotations


class WattprintError(Exception):
    """Base class of every error wattprint raises on purpose."""


class ConfigError(WattprintError, ValueError):
    """Bad input from the user: an argument, an environment variable or a config value."""


class SensorError(WattprintError):
    """A sensor could not be read. The run goes on; the sensor's interval is marked a gap."""


class SensorPermissionError(SensorError):
    """The sensor exists but the current user may not read it (e.g. RAPL since CVE-2020-8694)."""


class SensorUnavailableError(SensorError):
    """The sensor does not exist on this machine (no powercap tree, no such device)."""


class TrackerStateError(WattprintError, RuntimeError):
    """A Tracker method was called in the wrong state (stop before start, unknown window...)."""
