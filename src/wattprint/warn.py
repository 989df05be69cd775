"""The one callback type through which the measurement layers report problems.

``warn(key, message)``: the Tracker shows each key once (as a WattprintWarning pointing at the
user's code) and keeps every message for the run's record.
"""

from __future__ import annotations

from collections.abc import Callable

Warn = Callable[[str, str], None]
