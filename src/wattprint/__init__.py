"""wattprint: the energy and carbon footprint of machine-learning work.

>>> import wattprint
>>> with wattprint.Tracker(project="demo", zone="FR") as tracker:
...     work()
>>> print(tracker.run.energy_kwh, tracker.run.co2_kg)

Public names are loaded on first use so that ``import wattprint`` stays cheap (it imports
nothing, not even ``typing``).
"""

from __future__ import annotations

__version__ = "0.1.0"

# The public names, and the module each is loaded from on first use.
_LAZY = {
    "Tracker": "wattprint.tracker",
    "JobTracker": "wattprint.jobs.tracker",
    "LiveView": "wattprint.records.run",
    "Settings": "wattprint.settings",
    "track": "wattprint.decorator",
    "Run": "wattprint.records.run",
    "Window": "wattprint.records.run",
    "ComponentEnergy": "wattprint.records.run",
    "WattprintError": "wattprint.errors",
    "ConfigError": "wattprint.errors",
    "NoZoneError": "wattprint.errors",
    "TrackerStateError": "wattprint.errors",
    "SensorError": "wattprint.errors",
    "ProviderError": "wattprint.errors",
    "StoreError": "wattprint.errors",
    "WattprintWarning": "wattprint.errors",
}

__all__ = [
    "ComponentEnergy",
    "ConfigError",
    "JobTracker",
    "LiveView",
    "NoZoneError",
    "ProviderError",
    "Run",
    "SensorError",
    "Settings",
    "StoreError",
    "Tracker",
    "TrackerStateError",
    "WattprintError",
    "WattprintWarning",
    "Window",
    "__version__",
    "track",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.decorator import track
    from wattprint.errors import (
        ConfigError,
        NoZoneError,
        ProviderError,
        SensorError,
        StoreError,
        TrackerStateError,
        WattprintError,
        WattprintWarning,
    )
    from wattprint.jobs.tracker import JobTracker
    from wattprint.records.run import ComponentEnergy, LiveView, Run, Window
    from wattprint.settings import Settings
    from wattprint.tracker import Tracker


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wattprint' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
