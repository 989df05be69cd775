"""How the measurement layers report problems, and where a warning points.

``warn(key, message)`` (:data:`Warn`): the Tracker shows each key once, as a WattprintWarning
pointing at the user's code (:func:`user_stacklevel`), and keeps every message for the run's
record.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Warn = Callable[[str, str], None]  # import it under TYPE_CHECKING too

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` called by this function's caller that points
    at the first frame outside the wattprint package (the user's line); 1 when there is none,
    as on the sampler thread."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename.endswith(f"{os.sep}contextlib.py")
    ):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level if frame is not None else 1
