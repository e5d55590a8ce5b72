"""A burst of writers must not starve the worker threads that finish transactions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlmodel import Field, SQLModel, func, select

from services.common.app_factory import build_app
from services.common.db import create_db_engine, create_tables
from services.common.deps import SessionDep
from services.common.settings import CommonSettings


class BurstRow(SQLModel, table=True):
    __tablename__ = "burst_row"
    id: int | None = Field(default=None, primary_key=True)
    n: int


def make_app(tmp_path: Path, limit_writes: bool) -> FastAPI:
    settings = CommonSettings(data_dir=tmp_path, log_json=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(f"sqlite:///{tmp_path / 'burst.db'}", busy_timeout_ms=3000)
        create_tables(engine, "burst")
        app.state.engine = engine
        yield
        engine.dispose()

    app = build_app(
        name="burst",
        title="burst",
        description="",
        settings=settings,
        lifespan=lifespan,
        readiness={},
        limit_writes=limit_writes,
    )

    @app.post("/rows", status_code=201)
    def add(session: SessionDep) -> dict[str, int]:
        count = session.exec(select(func.count()).select_from(BurstRow)).one()
        time.sleep(0.002)  # read, think, then write: the transaction spans threads
        session.add(BurstRow(n=count))
        return {"n": count}

    return app


async def test_a_burst_of_120_writers_all_succeed_promptly(lifespan_client, tmp_path) -> None:
    client = await lifespan_client(make_app(tmp_path, limit_writes=True))
    started = time.monotonic()
    responses = await asyncio.gather(*(client.post("/rows") for _ in range(120)))
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses].count(201) == 120
    # Every writer read the count under the write lock, so each saw a different one.
    assert sorted(r.json()["n"] for r in responses) == list(range(120))
    assert elapsed < 3.0, f"writers waited on each other for {elapsed:.1f}s"
