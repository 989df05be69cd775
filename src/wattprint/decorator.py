"""``@wattprint.track``: measure every call of a function."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, overload

from wattprint.errors import WattprintWarning
from wattprint.tracker import Tracker

F = TypeVar("F", bound=Callable[..., Any])


@overload
def track(func: F, /) -> F: ...
@overload
def track(func: None = None, /, **options: Any) -> Callable[[F], F]: ...


def track(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Decorator: measure each call of a function; the last call's Run is ``f.last_run``.

    Takes the :class:`Tracker` arguments; ``project`` defaults to the function's name. An
    exception in the function propagates unchanged; its run is still recorded, with ``error``.
    """

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        opts = {"project": f.__qualname__, **options}
        Tracker(**opts)  # validate the options now, not at the first call

        def begin() -> Tracker | None:
            try:
                return Tracker(**opts).start()
            except Exception as exc:  # noqa: BLE001 - measuring must never break the function
                warnings.warn(
                    f"not measuring {f.__qualname__}: {exc}", WattprintWarning, stacklevel=3
                )
                return None

        def finish(tracker: Tracker | None, exc: BaseException | None) -> None:
            if tracker is None:
                return
            if exc is not None:
                tracker.fail(f"{type(exc).__name__}: {exc}")
            try:
                wrapper.last_run = tracker.stop()  # type: ignore[attr-defined]
            except Exception as stop_exc:  # noqa: BLE001 - the function's outcome comes first
                warnings.warn(
                    f"could not record the run: {stop_exc}", WattprintWarning, stacklevel=3
                )

        import inspect

        if inspect.iscoroutinefunction(f):

            @functools.wraps(f)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                tracker = begin()
                try:
                    result = await f(*args, **kwargs)
                except BaseException as exc:
                    finish(tracker, exc)
                    raise
                finish(tracker, None)
                return result
        else:

            @functools.wraps(f)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                tracker = begin()
                try:
                    result = f(*args, **kwargs)
                except BaseException as exc:
                    finish(tracker, exc)
                    raise
                finish(tracker, None)
                return result

        wrapper.last_run = None  # type: ignore[attr-defined]
        return wrapper

    return decorate(func) if func is not None else decorate
