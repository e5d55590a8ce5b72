"""Write transactions that run start to finish in one thread.

`SessionDep` opens the transaction in one worker thread and runs the route in another.
With many writers queued on the database lock (SQLite's `BEGIN IMMEDIATE`, a row lock
on PostgreSQL) every worker thread can end up waiting for a lock whose holder needs a
free thread to finish: the pool starves until the busy timeout. Allocation routes see
exactly such bursts, so they open, use and commit their transaction in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.common.db import unit_of_work
from services.common.errors import ServiceUnavailable

T = TypeVar("T")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run `work` in one write transaction; a database still locked after the wait is 503."""
    try:
        with unit_of_work(engine) as session:
            return work(session)
    except OperationalError as exc:
        # A deadlock PostgreSQL broke (two replicas' batches claiming the same two
        # idempotency keys in opposite orders) is as transient as a lock held too long.
        if any(sign in str(exc).lower() for sign in ("locked", "deadlock detected")):
            raise ServiceUnavailable(
                "the database is busy; try again", retry_after_seconds=1
            ) from exc
        raise
