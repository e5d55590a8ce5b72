"""Group commit: reservations and releases arriving while one transaction runs go together.

Writers to one pool are serialized by the database (SQLite's single writer, the pool
row lock on PostgreSQL), so one request per transaction caps throughput at one
transaction's cost per request. Here one writer thread takes every queued request into
one transaction, each in its own SAVEPOINT: a refusal (pool exhausted, idempotency key
reused) or a failure rolls back only that request's part, exactly as its own
transaction would have. Answers are released only after the batch has committed; when
the commit fails, every request of the batch gets the error a lone request would have
got (503 when the database is busy) and nothing of the batch remains.

Correctness still rests on the database: the pools of a batch are locked (in one order)
at its start, so batches of several replicas serialize like single requests did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.common.errors import ProblemError
from services.licensing.allocations import idempotency
from services.licensing.allocations.scope import WriteScope
from services.licensing.settings import Settings
from services.licensing.transaction import in_transaction

log = logging.getLogger("shareline.licensing")

# Bounds one transaction (and the lock it holds) however long the queue gets.
MAX_BATCH = 256

Answer = tuple[int, dict[str, Any]]
Outcome = Answer | BaseException


@dataclass
class Job:
    """One idempotent request waiting for its batch."""

    operation: str
    key: str | None
    payload: Any
    now: datetime
    status_code: int
    pools: tuple[str, ...]
    work: Callable[[Session, WriteScope], dict[str, Any]]
    answer: asyncio.Future[Answer] = field(repr=False)


def run_batch(engine: Engine, settings: Settings, jobs: list[Job]) -> list[Outcome]:
    """One transaction for `jobs`, a savepoint each; the outcome of each, once committed."""

    def work(session: Session) -> list[Outcome]:
        scope = WriteScope(session, settings)
        scope.lock(pool for job in jobs for pool in job.pools)
        return [_run_job(session, scope, job, f"job_{n}") for n, job in enumerate(jobs)]

    return in_transaction(engine, work)


def _run_job(session: Session, scope: WriteScope, job: Job, name: str) -> Outcome:
    before = scope.counters()
    connection = session.connection()
    # Plain SAVEPOINT statements: SQLAlchemy's savepoint objects compile a new statement
    # each time and drive the ORM's transaction bookkeeping, which was a third of the
    # writer's time on this path. Jobs write with plain statements, not ORM instances;
    # after a rollback the session forgets what it had loaded all the same.
    connection.exec_driver_sql(f"SAVEPOINT {name}")
    try:
        answer = _answer(session, scope, job)
    except OperationalError:
        raise  # the database itself failed: the whole batch fails as one transaction
    except Exception as exc:
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        connection.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
        session.expire_all()
        scope.rolled_back_to(before)
        if not isinstance(exc, ProblemError):
            log.error("a %s request failed inside its batch", job.operation, exc_info=exc)
        return exc
    connection.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
    return answer


def _answer(session: Session, scope: WriteScope, job: Job) -> Answer:
    if job.key is not None:
        replay = idempotency.claim(
            session, operation=job.operation, key=job.key, payload=job.payload, now=job.now
        )
        if replay is not None:
            return replay.status_code, replay.body
    body = job.work(session, scope)
    if job.key is not None:
        idempotency.store(
            session, operation=job.operation, key=job.key, status_code=job.status_code, body=body
        )
    return job.status_code, body


class WriteBatcher:
    """Queues idempotent writes and runs them in batches on one writer thread."""

    def __init__(self, engine: Engine, settings: Settings, *, max_batch: int = MAX_BATCH):
        self.engine = engine
        self.settings = settings
        self.max_batch = max_batch
        self.batches = 0
        self.largest = 0
        self._queue: list[Job] = []
        self._writer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="licensing-writer")

    async def submit(
        self,
        *,
        operation: str,
        key: str | None,
        payload: Any,
        now: datetime,
        status_code: int,
        pools: tuple[str, ...],
        work: Callable[[Session, WriteScope], dict[str, Any]],
    ) -> Answer:
        """The request's answer once its batch committed; its refusal is raised."""
        loop = asyncio.get_running_loop()
        job = Job(operation, key, payload, now, status_code, pools, work, loop.create_future())
        self._queue.append(job)
        if self._writer is None:
            self._writer = loop.create_task(self._drain())
        # A client that hangs up does not cancel its part: the batch runs regardless.
        return await asyncio.shield(job.answer)

    async def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        if self._writer is not None:
            await self._writer
        self._thread.shutdown(wait=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[Job] = []
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self.batches += 1
                self.largest = max(self.largest, len(batch))
                try:
                    outcomes = await loop.run_in_executor(
                        self._thread, run_batch, self.engine, self.settings, batch
                    )
                except Exception as failure:  # the transaction failed: all of it
                    outcomes = [_copy(failure) for _ in batch]
                for job, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        job.answer.set_exception(outcome)
                    else:
                        job.answer.set_result(outcome)
        finally:
            self._writer = None
            # Only when this task itself was cancelled (shutdown): nobody answers these.
            for job in [*batch, *self._queue]:
                if not job.answer.done():
                    job.answer.cancel()
            self._queue.clear()


def _copy(failure: Exception) -> Exception:
    """Each request raises its own exception object (tracebacks are per raise)."""
    if isinstance(failure, ProblemError):
        try:
            clone = type(failure)(failure.detail, **failure.extra)
        except TypeError:  # a subclass with its own constructor: share the one object
            return failure
        clone.__cause__ = failure.__cause__
        return clone
    return failure
