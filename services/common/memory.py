"""Keeping a service's resident memory near what it actually uses (glibc's malloc).

CPython hands every block larger than 512 bytes (file contents, list and dict storage)
to the C library's malloc. glibc keeps freed memory for reuse instead of returning it to
the system, so after a commit that built 10,000 devices' files the process stays as
large as the commit made it, and each thread that allocates may get an arena of its own.
Two remedies, both no-ops where the C library is not glibc (musl, macOS):

- `limit_malloc_arenas` caps the number of arenas, like `MALLOC_ARENA_MAX`, but from
  inside the process so it holds however the service is started;
- `release_freed_memory` gives the free pages of every arena back (`malloc_trim`), once
  a big piece of work is over; `release_freed_memory_soon` does it off the request path.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import sys
import threading
import time
from typing import Any

log = logging.getLogger("shareline.memory")

M_ARENA_MAX = -8  # glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
DEFAULT_ARENAS = 2
DEFAULT_MMAP_THRESHOLD = 256 * 1024
# Long enough for the request that asked to return and drop what it built.
RELEASE_DELAY_SECONDS = 0.1
# For a route whose large answer is serialized after it returns (10,000 extensions'
# committed document takes ~0.4 s).
AFTER_LARGE_RESPONSE_SECONDS = 1.0
# A release already due this close before the one asked for covers it too.
COALESCE_SECONDS = 0.05
# Work on fewer items (devices rendered, files packed) frees too little to be worth a
# release: its collection and arena walk would only compete with the phones that fetch
# right after a small commit.
WORTH_RELEASING = 500


@functools.cache
def glibc() -> Any | None:
    """The process's C library when it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into this process
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version"):
        return None  # musl or another libc: no mallopt/malloc_trim semantics to rely on
    return libc


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS, libc: Any | None = None) -> bool:
    """Let malloc create at most `arenas` arenas; True when the C library took it.

    Call it before the process starts threads: an arena made earlier stays.
    """
    libc = libc if libc is not None else glibc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    return bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))


def fix_mmap_threshold(size: int = DEFAULT_MMAP_THRESHOLD, libc: Any | None = None) -> bool:
    """Serve every block of `size` bytes or more from its own mapping, returned on free.

    glibc raises this threshold each time such a block is freed (up to 32 MiB), so after
    one big document every later one lands in the heap and leaves a hole there.
    """
    libc = libc if libc is not None else glibc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    return bool(mallopt(ctypes.c_int(M_MMAP_THRESHOLD), ctypes.c_int(size)))


def release_freed_memory(libc: Any | None = None) -> bool:
    """Return malloc's free pages to the system; True when the C library supports it."""
    libc = libc if libc is not None else glibc()
    malloc_trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if malloc_trim is None:
        return False
    malloc_trim(ctypes.c_size_t(0))
    return True


def release_freed_memory_soon(delay_seconds: float = RELEASE_DELAY_SECONDS) -> None:
    """Collect garbage and `release_freed_memory` in a moment, on a thread of its own.

    For commit hooks: the commit's response goes out without waiting for the trim, and
    by the time it runs the request has dropped the data it built. The collection frees
    what the commit left in reference cycles first; it is short in a served process,
    whose start-up heap is frozen (`services.common.heap`).
    """
    global _latest_due
    if not _releases_enabled or glibc() is None:
        return
    due = time.monotonic() + delay_seconds
    with _schedule_lock:
        if _latest_due >= due - COALESCE_SECONDS:
            return  # a release due then (or later) gives this request's memory back too
        _latest_due = due
    timer = threading.Timer(delay_seconds, _release_quietly)
    timer.daemon = True
    timer.name = "shareline-memory-release"
    timer.start()


def release_freed_memory_after_large_response() -> None:
    """`release_freed_memory_soon` once a large answer has been serialized and sent."""
    release_freed_memory_soon(AFTER_LARGE_RESPONSE_SECONDS)


_releases_enabled = False


def enable_releases() -> None:
    """Let `release_freed_memory_soon` act: called by a served process at start.

    In-process apps (tests) do not ask for it: there a release would walk the whole test
    process's heap (seconds, on a thread holding the GIL) to give back nothing that matters.
    """
    global _releases_enabled
    _releases_enabled = True


_schedule_lock = threading.Lock()
_latest_due = 0.0  # monotonic time of the latest release scheduled


def _release_quietly() -> None:
    try:
        before, started = resident_kib(), time.perf_counter()
        gc.collect()
        release_freed_memory()
        log.info(
            "freed memory given back in %.0f ms: resident %s -> %s KiB",
            (time.perf_counter() - started) * 1000,
            before,
            resident_kib(),
        )
    except Exception:  # a failed trim costs memory, never the service
        log.exception("giving freed memory back failed")


def resident_kib() -> int | None:
    """This process's resident set size (Linux), for the log line after a release."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
