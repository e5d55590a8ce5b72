"""Reservations taken in batches (group commit) keep every rule a lone reservation has.

Most tests hold the database's write lock for a moment (a transaction that locks the
pool row, as a reservation on another replica would) while requests arrive, so they
queue and run as one batch; each test checks that batching really happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.common.db import unit_of_work
from services.common.errors import ServiceUnavailable
from services.licensing.allocations.batching import WriteBatcher
from services.licensing.allocations.scope import WriteScope
from services.licensing.allocations.service import Request, release, reserve
from services.licensing.app import create_app
from services.licensing.client import PoolExhausted
from services.licensing.pools.service import lock_pool, take_locked
from services.licensing.transaction import in_transaction
from tests.licensing.conftest import Licensing, headers

PROBLEM = "urn:shareline:problem:"


class _Released(Exception):
    """Ends the lock-holding transaction with a rollback."""


@contextlib.asynccontextmanager
async def pool_locked(engine: Engine, pool: str = "users") -> AsyncIterator[None]:
    """Hold `pool`'s row lock (and SQLite's write lock) until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with contextlib.suppress(_Released), unit_of_work(engine) as session:
            lock_pool(session, pool)
            locked.set()
            release.wait(10)
            raise _Released

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5)
        yield
    finally:
        release.set()
        await asyncio.to_thread(holder.join)


async def while_locked(
    licensing: Licensing, requests: list[Callable[[], Coroutine[Any, Any, httpx.Response]]]
) -> list[httpx.Response]:
    """Send `requests` at once while the pool is locked, then let them through together."""
    async with pool_locked(licensing.app.state.engine):
        tasks = [asyncio.create_task(send()) for send in requests]
        await asyncio.sleep(0.3)  # every request reaches the batcher's queue
    return list(await asyncio.gather(*tasks))


def batcher(licensing: Licensing) -> WriteBatcher:
    found: WriteBatcher = licensing.app.state.write_batcher
    return found


async def active(licensing: Licensing, pool: str) -> list[dict[str, Any]]:
    page = await licensing.client.get(
        "/api/v1/license/allocations", params={"pool": pool, "limit": 500}, headers=headers()
    )
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def test_many_reservations_in_batches_grant_exactly_the_free_units(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 104)])  # 6 of 10 free
    answers = await while_locked(
        licensing,
        [partial(licensing.reserve, "users", [f"ext:{500 + i}"], f"many-{i}") for i in range(40)],
    )
    codes = [a.status_code for a in answers]
    assert (codes.count(201), codes.count(409)) == (6, 34)
    assert batcher(licensing).largest > 1
    refused = next(a.json() for a in answers if a.status_code == 409)
    assert (refused["type"], refused["used"], refused["capacity"]) == (
        PROBLEM + "pool-exhausted",
        10,
        10,
    )
    assert await licensing.used("users") == 10  # also checks used == active allocations
    granted = {a.json()["holders"][0] for a in answers if a.status_code == 201}
    assert {row["holder"] for row in await active(licensing, "users")} >= granted
    audit = await licensing.client.get(
        "/api/v1/license/audit", params={"action": "reserved", "limit": 100}, headers=headers()
    )
    assert audit.json()["total"] == 1 + 6  # the setup's one reservation, then one per grant


async def test_a_refusal_in_a_batch_does_not_undo_the_grants_around_it(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 108)])  # 2 free
    first, too_big, last = await while_locked(
        licensing,
        [
            partial(licensing.reserve, "users", ["ext:200"], "a"),
            partial(licensing.reserve, "users", ["ext:201", "ext:202", "ext:203"], "b"),
            partial(licensing.reserve, "users", ["ext:204"], "c"),
        ],
    )
    assert (first.status_code, too_big.status_code, last.status_code) == (201, 409, 201)
    assert batcher(licensing).largest > 1
    assert await licensing.used("users") == 10
    holders = {row["holder"] for row in await active(licensing, "users")}
    assert {"ext:200", "ext:204"} <= holders
    assert not {"ext:201", "ext:202", "ext:203"} & holders
    # The refused request left no idempotency record: the same key may succeed later.
    assert (await licensing.release("users", ["ext:100", "ext:101", "ext:102"])).is_success
    retried = await licensing.reserve("users", ["ext:201", "ext:202", "ext:203"], "b")
    assert retried.status_code == 201


async def test_the_same_key_twice_in_one_batch_replays_the_first_answer(
    licensing: Licensing,
) -> None:
    same, again, other_body = await while_locked(
        licensing,
        [
            partial(licensing.reserve, "users", ["ext:100"], "dup"),
            partial(licensing.reserve, "users", ["ext:100"], "dup"),
            partial(licensing.reserve, "users", ["ext:101"], "dup"),
        ],
    )
    assert batcher(licensing).largest > 1
    assert (same.status_code, again.status_code) == (201, 201)
    assert same.json() == again.json()
    assert other_body.status_code == 422
    assert other_body.json()["type"] == PROBLEM + "idempotency-key-reused"
    assert await licensing.used("users") == 1


async def test_same_key_twice_in_one_batch_directly(licensing: Licensing) -> None:
    """Submitted in one step of the event loop, the two are certainly one batch."""
    writes = batcher(licensing)

    def submit(holder: str) -> Awaitable[tuple[int, dict[str, Any]]]:
        req = Request("extensions", "service:extensions", licensing.clock(), writes.settings)
        return writes.submit(
            operation="reserve",
            key="one-batch",
            payload={"pool": "users", "holders": [holder]},
            now=req.now,
            status_code=201,
            pools=("users",),
            work=lambda session, scope: reserve(session, scope, req, "users", [holder]),
        )

    first, replay = await asyncio.gather(submit("ext:100"), submit("ext:100"))
    assert (writes.batches, writes.largest) == (1, 2)
    assert first == replay
    assert await licensing.used("users") == 1


async def test_a_request_failing_after_taking_units_gives_them_back_within_the_batch(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 109)])  # 1 free
    writes = batcher(licensing)
    req = Request("extensions", "service:extensions", licensing.clock(), writes.settings)

    def take_then_fail(session: Session, scope: WriteScope) -> dict[str, Any]:
        take_locked(session, scope.pool("users"), 1)
        raise RuntimeError("failed after taking a unit")

    def submit(
        key: str, work: Callable[[Session, WriteScope], dict[str, Any]]
    ) -> Awaitable[tuple[int, dict[str, Any]]]:
        return writes.submit(
            operation="reserve",
            key=key,
            payload={"key": key},
            now=req.now,
            status_code=201,
            pools=("users",),
            work=work,
        )

    failed, granted = await asyncio.gather(
        submit("fails", take_then_fail),
        submit("fits", lambda session, scope: reserve(session, scope, req, "users", ["ext:300"])),
        return_exceptions=True,
    )
    assert writes.largest == 2
    assert isinstance(failed, RuntimeError)
    assert granted[0] == 201  # the unit the failed request took was back in the pool
    assert await licensing.used("users") == 10


async def test_a_failed_commit_answers_503_to_the_whole_batch_and_leaves_nothing(
    licensing: Licensing,
) -> None:
    engine: Engine = licensing.app.state.engine
    failing = True

    def commit_fails(_connection: Any) -> None:
        if failing:
            raise OperationalError("COMMIT", None, sqlite3.OperationalError("database is locked"))

    event.listen(engine, "commit", commit_fails)
    try:
        answers = await while_locked(
            licensing,
            [
                partial(licensing.reserve, "users", [f"ext:{700 + i}"], f"doomed-{i}")
                for i in range(5)
            ],
        )
    finally:
        failing = False
        event.remove(engine, "commit", commit_fails)
    assert batcher(licensing).largest > 1
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == PROBLEM + "service-unavailable"
        assert answer.headers["retry-after"] == "1"
    assert await licensing.used("users") == 0
    assert await active(licensing, "users") == []
    # Nor did any idempotency record survive: the same keys now simply succeed.
    retried = await asyncio.gather(
        *[licensing.reserve("users", [f"ext:{700 + i}"], f"doomed-{i}") for i in range(5)]
    )
    assert [r.status_code for r in retried] == [201] * 5


async def test_two_replicas_batching_on_one_database_grant_exactly_the_free_units(
    licensing: Licensing, lifespan_client, make_settings
) -> None:
    settings = licensing.app.state.settings
    replica = create_app(make_settings(licensing_database_url=settings.licensing_database_url))
    replica.state.clock = licensing.clock
    other = await lifespan_client(replica)
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 103)])  # 7 free

    async def via(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.post(
            "/internal/v1/reservations",
            json={"pool": "users", "holders": [f"ext:{600 + i}"]},
            headers=headers("extensions", **{"Idempotency-Key": f"r-{i}"}),
        )

    answers = await while_locked(
        licensing,
        [partial(via, licensing.client if i % 2 else other, i) for i in range(30)],
    )
    codes = [a.status_code for a in answers]
    assert (codes.count(201), codes.count(409)) == (7, 23)
    assert batcher(licensing).largest > 1
    assert replica.state.write_batcher.largest > 1
    assert await licensing.used("users") == 10


@pytest.mark.parametrize("max_batch", [1, 3])
async def test_a_long_queue_is_taken_in_bounded_batches(
    licensing: Licensing, max_batch: int
) -> None:
    writes = batcher(licensing)
    writes.max_batch = max_batch
    answers = await while_locked(
        licensing,
        [partial(licensing.reserve, "users", [f"ext:{800 + i}"], f"q-{i}") for i in range(7)],
    )
    assert [a.status_code for a in answers] == [201] * 7
    assert writes.largest <= max_batch
    assert await licensing.used("users") == 7


@pytest.mark.parametrize("release_first", [True, False])
async def test_a_release_and_a_reservation_in_one_batch_count_in_arrival_order(
    licensing: Licensing, release_first: bool
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 110)])  # full
    writes = batcher(licensing)
    req = Request("extensions", "service:extensions", licensing.clock(), writes.settings)

    def submit(
        operation: str, work: Callable[[Session, WriteScope], dict[str, Any]]
    ) -> Awaitable[tuple[int, dict[str, Any]]]:
        return writes.submit(
            operation=operation,
            key=f"{operation}-key",
            payload={"operation": operation},
            now=req.now,
            status_code=200,
            pools=("users",),
            work=work,
        )

    def give_back(session: Session, scope: WriteScope) -> dict[str, Any]:
        return {"released": release(session, scope, req, "users", ["ext:100", "ext:999"])}

    def take(session: Session, scope: WriteScope) -> dict[str, Any]:
        return reserve(session, scope, req, "users", ["ext:300"])

    jobs = [submit("release", give_back), submit("reserve", take)]
    first, second = await asyncio.gather(
        *(jobs if release_first else reversed(jobs)), return_exceptions=True
    )
    released, reserved = (first, second) if release_first else (second, first)
    assert writes.largest == 2
    assert released == (200, {"released": 1})
    if release_first:
        assert not isinstance(reserved, BaseException)
    else:
        assert isinstance(reserved, PoolExhausted)
    assert await licensing.used("users") == (10 if release_first else 9)


async def test_releases_are_batched_over_http_and_counted(licensing: Licensing) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 106)])
    answers = await while_locked(
        licensing,
        [partial(licensing.release, "users", [f"ext:{n}"]) for n in range(100, 106)]
        + [partial(licensing.release, "users", ["ext:100"])],  # the same key again: replay
    )
    assert [a.json() for a in answers] == [{"released": 1}] * 7
    assert batcher(licensing).largest > 1
    assert await licensing.used("users") == 0
    audit = await licensing.client.get(
        "/api/v1/license/audit", params={"action": "released"}, headers=headers()
    )
    assert audit.json()["total"] == 6


async def test_a_deadlock_the_database_broke_is_busy_not_an_error(licensing: Licensing) -> None:
    def deadlocked(_session: Session) -> None:
        raise OperationalError("INSERT", None, Exception("deadlock detected"))

    with pytest.raises(ServiceUnavailable) as raised:
        in_transaction(licensing.app.state.engine, deadlocked)
    assert raised.value.headers == {"Retry-After": "1"}
