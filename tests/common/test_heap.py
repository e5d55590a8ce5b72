"""A served process hides its long-lived heap from the collector's full passes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from services.common import heap
from services.common.app_factory import build_app
from services.common.settings import CommonSettings


class Marker:
    """A container object the collector tracks, so we can ask whether it still scans it."""


def _scanned(obj: object) -> bool:
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    yield
    gc.unfreeze()
    heap._settled = False


def _app(settle: bool) -> FastAPI:
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.built_at_startup = Marker()
        yield

    app = build_app(
        name="sample",
        title="sample",
        description="sample",
        settings=CommonSettings(),
        lifespan=lifespan,
        readiness={},
    )
    if settle:
        app.state.settle_heap = True
    return app


async def test_a_served_app_stops_scanning_what_startup_built(lifespan_client) -> None:
    app = _app(settle=True)
    client = await lifespan_client(app)
    assert (await client.get("/healthz")).status_code == 200
    assert not _scanned(app.state.built_at_startup)


async def test_an_in_process_app_leaves_the_collector_alone(lifespan_client) -> None:
    app = _app(settle=False)
    await lifespan_client(app)
    assert _scanned(app.state.built_at_startup)
    heap.freeze_survivors()
    assert _scanned(app.state.built_at_startup)


def test_survivors_of_a_commit_are_frozen_once_the_process_settled() -> None:
    heap.settle()
    built_by_commit = Marker()
    assert _scanned(built_by_commit)
    heap.freeze_survivors()
    assert not _scanned(built_by_commit)


def test_frozen_objects_are_still_freed_when_nothing_refers_to_them() -> None:
    heap.settle()
    built_by_commit = [Marker() for _ in range(1000)]
    heap.freeze_survivors()
    frozen = gc.get_freeze_count()
    del built_by_commit
    assert gc.get_freeze_count() <= frozen - 1000
