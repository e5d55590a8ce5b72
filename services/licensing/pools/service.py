"""Pool counters: locked, taken from and given back to, always next to allocation rows.

Every change of `used` happens in the transaction that changes the allocation rows it
counts. Before any read that decides an allocation, the pool row is locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes
writers), and the increment itself is conditional (`used + n <= capacity`), so two
replicas can never both take the last unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update
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
        raise PoolExhausted(
            _exhausted_detail(pool, count),
            pool=pool.name,
            capacity=pool.capacity,
            used=pool.used,
            requested=count,
        )
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


def _exhausted_detail(pool: LicPool, count: int) -> str:
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
