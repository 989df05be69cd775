"""Wait for queued GPU work (torch, CuPy) before reading the counters at a window edge.

CUDA frameworks launch kernels asynchronously: when ``end_window()`` is called the GPU
may still be running the window's kernels, and their energy would land in the next window.
Synchronising first puts it where it belongs. Only frameworks the program has already
imported are touched (nothing is imported here), and a framework that has not initialised
its GPU context is left alone (synchronising would create one).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _torch() -> bool:
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not cuda.is_available() or not cuda.is_initialized():
        return False
    cuda.synchronize()
    return True


def _cupy() -> bool:
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return False
    cupy.cuda.Device().synchronize()
    return True


#: JAX has no process-wide barrier for ordinary queued work (``jax.effects_barrier`` waits for
#: side effects only): call ``jax.block_until_ready(outputs)`` before ending a window.
SYNCERS: dict[str, Callable[[], bool]] = {"torch": _torch, "cupy": _cupy}


def synchronize() -> list[str]:
    """Synchronise every imported framework with a live GPU context; the names synchronised.
    A framework that fails to synchronise is skipped (the window is then only less exact)."""
    done = []
    for name, sync in SYNCERS.items():
        try:
            if sync():
                done.append(name)
        except Exception:  # noqa: BLE001 - a broken framework must not break measuring
            continue
    return done
