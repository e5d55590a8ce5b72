"""Freed heap goes back to the system, and nothing breaks where the C library is not glibc."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from services.common import memory
from services.common.serve import release_memory_after_startup

needs_glibc = pytest.mark.skipif(memory.glibc() is None, reason="glibc's malloc only")


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class NotGlibc:
    """A C library without mallopt or malloc_trim (musl, macOS)."""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a process started by services.common.serve."""
    monkeypatch.setattr(memory, "_releases_enabled", True)


@pytest.fixture
def no_glibc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    memory.glibc.cache_clear()
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    yield
    memory.glibc.cache_clear()


@needs_glibc
def test_freed_heap_stays_resident_until_it_is_released() -> None:
    # 1 KiB blocks come from malloc's heap, not from mmap; the block allocated after
    # them keeps the heap's top in use, so free() alone cannot shrink it.
    blocks = [bytes(1024) + bytes([i % 256]) for i in range(64 * 1024)]
    pin = bytes(2048) + b"pin"
    del blocks
    held = _rss_kib()
    assert memory.release_freed_memory() is True
    assert held - _rss_kib() > 32 * 1024  # most of the 64 MiB went back
    assert pin.endswith(b"pin")


@needs_glibc
def test_arenas_can_be_limited() -> None:
    assert memory.limit_malloc_arenas(2) is True


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _mapped_bytes() -> int:
    mallinfo2 = memory.glibc().mallinfo2
    mallinfo2.restype = MallInfo2
    return int(mallinfo2().hblkhd)


@needs_glibc
def test_big_blocks_keep_their_own_mapping_after_a_bigger_one_was_freed() -> None:
    assert memory.fix_mmap_threshold() is True
    # glibc alone would now raise its threshold to 24 MiB, and put the next 2 MiB
    # block into the heap, where it leaves a hole when freed.
    bytes(24 << 20)
    mapped = _mapped_bytes()
    block = bytes(2 << 20)
    assert _mapped_bytes() - mapped >= 2 << 20
    del block
    assert _mapped_bytes() == mapped


def test_without_glibc_releasing_and_limiting_do_nothing(no_glibc: None) -> None:
    assert memory.glibc() is None
    assert memory.release_freed_memory() is False
    assert memory.limit_malloc_arenas() is False
    assert memory.release_freed_memory(NotGlibc()) is False
    assert memory.limit_malloc_arenas(2, NotGlibc()) is False
    assert memory.fix_mmap_threshold() is False


def test_without_glibc_no_release_is_scheduled(no_glibc: None, served: None) -> None:
    before = threading.active_count()
    memory.release_freed_memory_soon(0.0)
    assert threading.active_count() == before


@needs_glibc
def test_an_in_process_app_schedules_no_release(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda libc=None: calls.append(libc))
    before = threading.active_count()
    memory.release_freed_memory_soon(0.0)
    time.sleep(0.1)
    assert threading.active_count() == before and calls == []


@needs_glibc
def test_release_soon_runs_once_for_requests_close_together(
    monkeypatch: pytest.MonkeyPatch, served: None
) -> None:
    released = threading.Semaphore(0)
    calls: list[str] = []

    def record(libc: object = None) -> bool:
        calls.append(threading.current_thread().name)
        released.release()
        return True

    monkeypatch.setattr(memory, "release_freed_memory", record)
    memory.release_freed_memory_soon(0.05)
    memory.release_freed_memory_soon(0.05)
    assert released.acquire(timeout=5)
    assert not released.acquire(timeout=0.2)
    assert calls == ["shareline-memory-release"]
    memory.release_freed_memory_soon(0.0)  # the next commit gets its own release
    assert released.acquire(timeout=5)
    assert len(calls) == 2


@needs_glibc
def test_a_release_due_later_covers_an_earlier_request_but_not_the_reverse(
    monkeypatch: pytest.MonkeyPatch, served: None
) -> None:
    released = threading.Semaphore(0)
    monkeypatch.setattr(memory, "release_freed_memory", lambda libc=None: released.release())
    started = time.monotonic()
    memory.release_freed_memory_after_large_response()
    memory.release_freed_memory_soon(0.0)  # a release is due later: that one covers it
    assert released.acquire(timeout=5)
    assert time.monotonic() - started >= memory.AFTER_LARGE_RESPONSE_SECONDS
    assert not released.acquire(timeout=0.1)
    memory.release_freed_memory_soon(0.0)
    memory.release_freed_memory_soon(0.3)  # due after the pending one: a release of its own
    assert released.acquire(timeout=5) and released.acquire(timeout=5)


@needs_glibc
def test_a_failed_release_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, served: None
) -> None:
    attempts = threading.Semaphore(0)
    logged: list[str] = []

    def broken(libc: object = None) -> bool:
        attempts.release()
        raise OSError("trim failed")

    monkeypatch.setattr(memory, "release_freed_memory", broken)
    monkeypatch.setattr(memory.log, "exception", logged.append)
    monkeypatch.setattr(memory, "COALESCE_SECONDS", 0.0)
    memory.release_freed_memory_soon(0.0)
    assert attempts.acquire(timeout=5)
    memory.release_freed_memory_soon(0.0)  # a failure stops no later release
    assert attempts.acquire(timeout=5)
    deadline = time.monotonic() + 5
    while len(logged) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert logged == ["giving freed memory back failed"] * 2


async def test_a_served_app_releases_memory_once_started(
    monkeypatch: pytest.MonkeyPatch, lifespan_client
) -> None:
    events: list[str] = []

    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    monkeypatch.setattr(
        "services.common.serve.release_freed_memory", lambda: events.append("released")
    )
    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    release_memory_after_startup(app)
    client = await lifespan_client(app)
    assert events == ["started", "released"]
    assert (await client.get("/ping")).json() == {"pong": True}
