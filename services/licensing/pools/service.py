"""Pool counters: locked, taken from and given back to, always next to allocation rows.

Every change of `used` happens in the transaction that changes the allocation rows it
counts. Before any read that decides an allocation, the pool row is locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes
writers), and the increment itself is conditional (`used + n <= capacity`), so two
replicas can never both take the last unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from services.licensing.client import POOLS, PoolExhausted
from services.licensing.pools.models import LicPool
from services.licensing.sql import insert_if_absent


def ensure_pools(session: Session, capacities: Mapping[str, int]) -> None:
    for name in POOLS:
        insert_if_absent(session, LicPool, {"name": name, "capacity": capacities[name], "used": 0})


def lock_pool(session: Session, name: str) -> LicPool:
    statement = select(LicPool).where(LicPool.name == name).with_for_update()
    pool = session.exec(statement).one()
    session.refresh(pool)
    return pool


def lock_all_pools(session: Session) -> dict[str, LicPool]:
    # One order everywhere, so two transactions locking several pools cannot deadlock.
    return {name: lock_pool(session, name) for name in sorted(POOLS)}


@dataclass
class LockedPool:
    """A pool row locked for the rest of the transaction, its counter kept in step.

    While the lock is held nobody else changes the row, so `used` here is exact as long
    as every change in this transaction goes through `take_locked`/`give_back_locked`.
    """

    name: str
    capacity: int
    used: int


_POOLS = LicPool.__table__  # type: ignore[attr-defined]
_LOCK_COUNTS = (
    _POOLS.select()
    .with_only_columns(_POOLS.c.capacity, _POOLS.c.used)
    .where(_POOLS.c.name == bindparam("pool"))
    .with_for_update()
)
_TAKE = (
    _POOLS.update()
    .where(
        _POOLS.c.name == bindparam("pool"),
        _POOLS.c.used + bindparam("count") <= _POOLS.c.capacity,
    )
    .values(used=_POOLS.c.used + bindparam("count"))
)


def lock_pool_counts(session: Session, name: str) -> LockedPool:
    """Lock a pool row like `lock_pool`, in one round trip and without an ORM instance."""
    row = session.connection().execute(_LOCK_COUNTS, {"pool": name}).one()
    return LockedPool(name, int(row.capacity), int(row.used))


def take_locked(session: Session, pool: LockedPool, count: int) -> None:
    """`take` for a locked pool: a refusal needs no statement, a grant is still conditional."""
    if count <= 0:
        return
    if pool.used + count > pool.capacity:
        raise _exhausted(pool, count)
    result = session.connection().execute(_TAKE, {"pool": pool.name, "count": count})
    if result.rowcount != 1:  # the counter moved without the lock: trust the database
        fresh = lock_pool_counts(session, pool.name)
        pool.capacity, pool.used = fresh.capacity, fresh.used
        raise _exhausted(pool, count)
    pool.used += count


def give_back_locked(session: Session, pool: LockedPool, count: int) -> None:
    give_back(session, pool.name, count)
    pool.used -= max(count, 0)


def all_pools(session: Session) -> dict[str, LicPool]:
    return {pool.name: pool for pool in session.exec(select(LicPool)).all()}


def take(session: Session, pool: LicPool, count: int) -> None:
    """Take `count` units, or raise PoolExhausted naming the pool and its usage."""
    if count <= 0:
        return
    result = session.exec(
        update(LicPool)  # type: ignore[call-overload]
        .where(col(LicPool.name) == pool.name, col(LicPool.used) + count <= col(LicPool.capacity))
        .values(used=col(LicPool.used) + count)
    )
    if result.rowcount != 1:
        session.refresh(pool)
        raise _exhausted(pool, count)
    session.refresh(pool)


def give_back(session: Session, pool_name: str, count: int) -> None:
    if count <= 0:
        return
    session.exec(
        update(LicPool)  # type: ignore[call-overload]
        .where(col(LicPool.name) == pool_name)
        .values(used=col(LicPool.used) - count)
    )


def set_capacities(session: Session, capacities: Mapping[str, int]) -> None:
    """A new license's pools; units in use stay in use, even above the new capacity."""
    for name, pool in lock_all_pools(session).items():
        pool.capacity = capacities[name]
        session.add(pool)
    session.flush()


class _Counts(Protocol):
    name: str
    capacity: int
    used: int


def _exhausted(pool: _Counts, count: int) -> PoolExhausted:
    return PoolExhausted(
        _exhausted_detail(pool, count),
        pool=pool.name,
        capacity=pool.capacity,
        used=pool.used,
        requested=count,
    )


def _exhausted_detail(pool: _Counts, count: int) -> str:
    if pool.used > pool.capacity:
        return (
            f"the {pool.name} pool is over its limit ({pool.used} in use, capacity "
            f"{pool.capacity}); release {pool.used - pool.capacity + count} or install a "
            "larger license"
        )
    return (
        f"the {pool.name} pool is exhausted: {pool.used} of {pool.capacity} in use, "
        f"{count} requested"
    )
