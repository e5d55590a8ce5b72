"""Database engine and the one-session-per-request unit of work.

SQLite runs in WAL mode with a busy timeout. Its default deferred transactions fail
with "database is locked" (ignoring the busy timeout) when a read turns into a write,
so every transaction that may write starts with `BEGIN IMMEDIATE`. PostgreSQL URLs
work unchanged; there the domain code uses row locks or conditional updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from services.common.errors import ServiceUnavailable

log = logging.getLogger("shareline.db")

WRITE = "write"
READ = "read"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        _make_sqlite_transactional(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Like SQLite's busy timeout: a lock held too long ends in a 503, never a hang.
    # Options given in the URL (`?options=-c lock_timeout=...`) take precedence.
    connect_args = (
        {} if "options" in parsed.query else {"options": f"-c lock_timeout={int(busy_timeout_ms)}"}
    )
    return create_engine(
        parsed,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Parameters may be SIP passwords; an error message must never carry them.
        hide_parameters=True,
    )


def _make_sqlite_transactional(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("transaction_mode", WRITE)
        conn.exec_driver_sql("BEGIN" if mode == READ else "BEGIN IMMEDIATE")


def create_tables(engine: Engine, prefix: str) -> None:
    """Create this service's tables (named `<prefix>_*`) and no other service's."""
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name.startswith(prefix + "_")]
    SQLModel.metadata.create_all(engine, tables=tables)


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once this unit of work has committed (e.g. confirm a reservation)."""
    session.info.setdefault("after_commit", []).append(action)


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run `action` if this unit of work rolls back (e.g. release a reservation)."""
    session.info.setdefault("after_rollback", []).append(action)


def _run_hooks(session: Session, key: str) -> None:
    for action in session.info.pop(key, []):
        try:
            action()
        except Exception:  # a hook failing must not mask the outcome it follows
            log.exception("%s hook failed", key)


@contextmanager
def unit_of_work(engine: Engine, mode: str = WRITE) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on error, then runs the hooks."""
    session = Session(engine, expire_on_commit=False)
    try:
        if is_sqlite(engine):
            # BEGIN IMMEDIATE happens here: a lock held elsewhere surfaces as busy below.
            session.connection(execution_options={"transaction_mode": mode})
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        _run_hooks(session, "after_rollback")
        message = str(exc).lower()
        if any(sign in message for sign in ("locked", "could not serialize", "lock timeout")):
            raise ServiceUnavailable(
                "the database is busy; try again", retry_after_seconds=1
            ) from exc
        raise
    except BaseException:
        session.rollback()
        _run_hooks(session, "after_rollback")
        raise
    else:
        _run_hooks(session, "after_commit")
    finally:
        session.close()
