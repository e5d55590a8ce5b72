from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support.suite import Suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The four services as real processes, shared by the end-to-end tests of a session."""
    running = Suite(tmp_path_factory.mktemp("suite"))
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
async def lifespan_client() -> AsyncIterator[object]:
    """Factory: an AsyncClient over ASGITransport with the app's lifespan entered."""
    stack: list[tuple[FastAPI, object]] = []

    async def make(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        ctx = app.router.lifespan_context(app)
        await ctx.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
        )
        stack.append((app, (ctx, client)))
        return client

    yield make
    for _app, (ctx, client) in reversed(stack):  # type: ignore[misc]
        await client.aclose()
        await ctx.__aexit__(None, None, None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path
