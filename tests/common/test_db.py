from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlmodel import Field, SQLModel, select

from services.common.db import (
    READ,
    create_db_engine,
    create_tables,
    on_commit,
    on_rollback,
    unit_of_work,
)
from services.common.errors import ServiceUnavailable
from tests.support.databases import make_database_url


class CounterRow(SQLModel, table=True):
    __tablename__ = "tst_counter"
    id: int | None = Field(default=None, primary_key=True)
    value: int = 0


@pytest.fixture
def engine(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
    create_tables(engine, "tst")
    with unit_of_work(engine) as session:
        session.add(CounterRow(value=0))
    yield engine
    engine.dispose()


def test_sqlite_is_in_wal_mode(engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_concurrent_read_then_write_transactions_lose_no_update(engine) -> None:
    def bump() -> None:
        for _ in range(25):
            with unit_of_work(engine) as session:
                row = session.exec(select(CounterRow)).one()
                row.value += 1
                session.add(row)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with unit_of_work(engine, READ) as session:
        assert session.exec(select(CounterRow)).one().value == 150


def test_error_rolls_back_and_runs_rollback_hooks_only(engine) -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        row = session.exec(select(CounterRow)).one()
        row.value = 99
        session.add(row)
        on_commit(session, lambda: events.append("commit"))
        on_rollback(session, lambda: events.append("rollback"))
        raise RuntimeError("boom")
    assert events == ["rollback"]
    with unit_of_work(engine, READ) as session:
        assert session.exec(select(CounterRow)).one().value == 0


def test_commit_hooks_run_after_the_data_is_visible(engine) -> None:
    seen: list[int] = []

    def look() -> None:
        with unit_of_work(engine, READ) as other:
            seen.append(other.exec(select(CounterRow)).one().value)

    with unit_of_work(engine) as session:
        row = session.exec(select(CounterRow)).one()
        row.value = 7
        session.add(row)
        on_commit(session, look)
    assert seen == [7]


@pytest.mark.skipif(
    not os.environ.get("SHARELINE_TEST_POSTGRES_URL"),
    reason="needs PostgreSQL: set SHARELINE_TEST_POSTGRES_URL (as .ci/run does)",
)
def test_postgresql_connections_wait_for_a_lock_no_longer_than_the_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = create_db_engine(make_database_url(tmp_path, "locks"), busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "1234ms"
    engine.dispose()


def test_a_write_lock_held_elsewhere_is_a_503_not_a_hang(engine, tmp_path: Path) -> None:
    quick = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}", busy_timeout_ms=200)
    holder = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceUnavailable), unit_of_work(quick):
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        quick.dispose()
