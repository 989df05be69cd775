"""wattprint: the energy and carbon footprint of machine-learning work.

>>> import wattprint
>>> with wattprint.Tracker(project="demo", zone="FR") as tracker:
...     work()
>>> print(tracker.run.energy_kwh, tracker.run.co2_kg)

Public names are loaded on first use so that ``import wattprint`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ComponentEnergy",
    "ConfigError",
    "Run",
    "Tracker",
    "WattprintError",
    "WattprintWarning",
    "Window",
    "__version__",
    "track",
]

_LAZY = {
    "Tracker": "wattprint.tracker",
    "track": "wattprint.decorator",
    "WattprintWarning": "wattprint.tracker",
    "Run": "wattprint.records.run",
    "Window": "wattprint.records.run",
    "ComponentEnergy": "wattprint.records.run",
    "WattprintError": "wattprint.errors",
    "ConfigError": "wattprint.errors",
}

if TYPE_CHECKING:
    from wattprint.decorator import track
    from wattprint.errors import ConfigError, WattprintError
    from wattprint.records.run import ComponentEnergy, Run, Window
    from wattprint.tracker import Tracker, WattprintWarning


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wattprint' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
