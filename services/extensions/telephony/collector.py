"""Pausing Python's cyclic garbage collector while a commit builds its large state.

A telephony commit of 100,000 extensions allocates millions of small containers (rows,
dicts, specs, lines) that all stay alive until the files are written. Each time the
allocation count crosses the collector's threshold, a full collection walks every one of
them again: about a third of a commit's CPU time. What a commit builds holds no
reference cycles, so reference counting frees it without the collector; the few cycles
made meanwhile (here or by other threads) wait until the last paused section ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector until the last concurrent paused section ends.

    A collector already disabled by someone else stays disabled afterwards."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
