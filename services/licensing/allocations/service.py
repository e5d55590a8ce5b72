"""Reserve → confirm → release, counted in the pool row in the same transaction.

Each operation first locks its pool row, so everything it reads about that pool's
allocations is current and no other replica changes it before commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from services.licensing.allocations.models import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    RELEASED,
    RESERVED,
    LicAllocation,
    LicReservation,
)
from services.licensing.allocations.scope import WriteScope
from services.licensing.audit.service import append, record
from services.licensing.client import (
    PoolExhausted,
    ReservationConfirmed,
    ReservationExpired,
    ReservationNotFound,
)
from services.licensing.clock import from_db, to_db
from services.licensing.keys.service import license_state
from services.licensing.pools.service import (
    give_back,
    give_back_locked,
    lock_pool,
    take,
    take_locked,
)
from services.licensing.settings import Settings

_RESERVATIONS = LicReservation.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = LicAllocation.__table__  # type: ignore[attr-defined]
# Built once: statements built per call cost more than running them on this path.
_ACTIVE = select(_ALLOCATIONS.c.holder, _ALLOCATIONS.c.id, _ALLOCATIONS.c.state).where(
    _ALLOCATIONS.c.pool == bindparam("pool"), _ALLOCATIONS.c.active.is_(True)
)
_HOLDING = _ACTIVE.where(_ALLOCATIONS.c.holder == bindparam("holder"))
_HOLDINGS = _ACTIVE.where(_ALLOCATIONS.c.holder.in_(bindparam("holders", expanding=True)))
_INSERT_RESERVATION = _RESERVATIONS.insert()
_INSERT_ALLOCATION = _ALLOCATIONS.insert()


@dataclass(frozen=True)
class Request:
    """Who asks, and when: the calling service owns what it allocates."""

    owner: str
    actor: str
    now: datetime
    settings: Settings


def reserve(
    session: Session, scope: WriteScope, req: Request, pool: str, holders: list[str]
) -> dict[str, Any]:
    """Hold units for `holders` (all or nothing) until confirmed or expired.

    Plain SQL statements, no ORM instances: this is the hot path of a batch.
    """
    scope.check_may_allocate(req.now)
    locked = scope.pool(pool)
    held = _holdings(session, pool, holders)
    missing = [h for h in holders if h not in held]
    take_locked(session, locked, len(missing))
    lifetime = timedelta(seconds=req.settings.license_reservation_lifetime_seconds)
    created, expires = to_db(req.now), to_db(req.now + lifetime)
    reservation_id = uuid.uuid4().hex
    connection = session.connection()
    connection.execute(
        _INSERT_RESERVATION,
        {
            "id": reservation_id,
            "pool": pool,
            "owner": req.owner,
            "state": RESERVED,
            "created_at": created,
            "expires_at": expires,
        },
    )
    # A unit reserved earlier and never confirmed (a retry after a lost answer) moves
    # into this reservation instead of being counted twice.
    moved = [row_id for row_id, state in held.values() if state == RESERVED]
    if moved:
        connection.execute(
            _ALLOCATIONS.update()
            .where(_ALLOCATIONS.c.id.in_(moved))
            .values(reservation_id=reservation_id, owner=req.owner)
        )
    if missing:
        connection.execute(
            _INSERT_ALLOCATION,
            [
                {
                    "pool": pool,
                    "holder": holder,
                    "owner": req.owner,
                    "reservation_id": reservation_id,
                    "state": RESERVED,
                    "active": True,
                    "created_at": created,
                }
                for holder in missing
            ],
        )
    append(
        session,
        at=req.now,
        actor=req.actor,
        action="reserved",
        pool=pool,
        summary=f"reserved {len(missing)} new {pool} unit(s) for {', '.join(holders)}",
        reservation_id=reservation_id,
        holders=holders,
        new=len(missing),
        owner=req.owner,
    )
    return {
        "id": reservation_id,
        "pool": pool,
        "holders": holders,
        "state": RESERVED,
        "expires_at": from_db(expires).isoformat(),
    }


def _holdings(session: Session, pool: str, holders: list[str]) -> dict[str, tuple[int, str]]:
    """holder → (allocation id, state) of the active allocations among `holders`."""
    connection = session.connection()
    if len(holders) == 1:  # the usual case; an expanding IN is compiled at each call
        rows = connection.execute(_HOLDING, {"pool": pool, "holder": holders[0]})
    else:
        rows = connection.execute(_HOLDINGS, {"pool": pool, "holders": holders})
    return {holder: (row_id, state) for holder, row_id, state in rows}


def confirm(session: Session, req: Request, reservation_id: str) -> dict[str, Any]:
    """Make a reservation permanent; an expired one takes its units again if it can."""
    found = session.get(LicReservation, reservation_id)
    if found is None:
        raise ReservationNotFound(f"reservation {reservation_id[:64]} does not exist")
    lock_pool(session, found.pool)
    session.refresh(found)
    holders = _holders_of(session, found.id)
    if found.state == CONFIRMED:
        return reservation_body(found, holders)
    if found.state in (EXPIRED, CANCELLED):
        _take_again(session, req, found, holders)
    for allocation in session.exec(
        select(LicAllocation).where(
            LicAllocation.reservation_id == found.id,
            LicAllocation.state == RESERVED,
            col(LicAllocation.active).is_(True),
        )
    ).all():
        allocation.state = CONFIRMED
        allocation.confirmed_at = to_db(req.now)
        session.add(allocation)
    found.state = CONFIRMED
    found.confirmed_at = to_db(req.now)
    session.add(found)
    record(
        session,
        at=req.now,
        actor=req.actor,
        action="confirmed",
        pool=found.pool,
        summary=f"confirmed {found.pool} for {', '.join(holders)}",
        reservation_id=found.id,
        holders=holders,
    )
    return reservation_body(found, holders)


def release(
    session: Session, scope: WriteScope, req: Request, pool: str, holders: list[str]
) -> int:
    """Give back the units `holders` hold in `pool`; not holding one is not an error."""
    locked = scope.pool(pool)
    held = _holdings(session, pool, holders)
    if not held:
        return 0
    session.connection().execute(
        _ALLOCATIONS.update()
        .where(_ALLOCATIONS.c.id.in_([row_id for row_id, _state in held.values()]))
        .values(active=False, state=RELEASED, released_at=to_db(req.now), release_reason="released")
    )
    give_back_locked(session, locked, len(held))
    append(
        session,
        at=req.now,
        actor=req.actor,
        action="released",
        pool=pool,
        summary=f"released {len(held)} {pool} unit(s): {', '.join(sorted(held))}",
        holders=sorted(held),
    )
    return len(held)


def cancel(session: Session, req: Request, reservation_id: str) -> dict[str, Any]:
    """Give back what this reservation newly holds (its caller rolled back); confirmed stays."""
    found = session.get(LicReservation, reservation_id)
    if found is None:
        raise ReservationNotFound(f"reservation {reservation_id[:64]} does not exist")
    lock_pool(session, found.pool)
    session.refresh(found)
    if found.state == CONFIRMED:
        raise ReservationConfirmed(
            f"reservation {found.id} is confirmed; release its holders instead"
        )
    rows = session.exec(
        select(LicAllocation).where(
            LicAllocation.reservation_id == found.id,
            LicAllocation.state == RESERVED,
            col(LicAllocation.active).is_(True),
        )
    ).all()
    count = deactivate(session, rows, state=RELEASED, reason="cancelled", now=req.now)
    found.state = CANCELLED
    session.add(found)
    if count:
        holders = sorted(row.holder for row in rows)
        record(
            session,
            at=req.now,
            actor=req.actor,
            action="cancelled",
            pool=found.pool,
            summary=f"cancelled reservation {found.id}: {', '.join(holders)}",
            reservation_id=found.id,
            holders=holders,
        )
    return {"released": count}


def active_allocations(
    session: Session, pool: str, holders: Iterable[str]
) -> dict[str, LicAllocation]:
    wanted = list(holders)
    if not wanted:
        return {}
    rows = session.exec(
        select(LicAllocation).where(
            LicAllocation.pool == pool,
            col(LicAllocation.holder).in_(wanted),
            col(LicAllocation.active).is_(True),
        )
    ).all()
    return {row.holder: row for row in rows}


def deactivate(
    session: Session, rows: Iterable[LicAllocation], *, state: str, reason: str, now: datetime
) -> int:
    """Stop counting `rows` (the caller holds their pool's lock) and give their units back."""
    by_pool: dict[str, int] = {}
    for row in rows:
        row.active = False
        row.state = state
        row.released_at = to_db(now)
        row.release_reason = reason
        session.add(row)
        by_pool[row.pool] = by_pool.get(row.pool, 0) + 1
    session.flush()
    for pool, count in by_pool.items():
        give_back(session, pool, count)
    return sum(by_pool.values())


def reservation_body(reservation: LicReservation, holders: list[str]) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "pool": reservation.pool,
        "holders": holders,
        "state": reservation.state,
        "expires_at": from_db(reservation.expires_at).isoformat(),
    }


def _add_allocations(
    session: Session, req: Request, reservation: LicReservation, holders: list[str]
) -> None:
    for holder in holders:
        session.add(
            LicAllocation(
                pool=reservation.pool,
                holder=holder,
                owner=req.owner,
                reservation_id=reservation.id,
                state=RESERVED,
                active=True,
                created_at=to_db(req.now),
            )
        )
    session.flush()


def _holders_of(session: Session, reservation_id: str) -> list[str]:
    rows = session.exec(
        select(LicAllocation.holder)
        .where(LicAllocation.reservation_id == reservation_id)
        .order_by(col(LicAllocation.id))
    ).all()
    return list(dict.fromkeys(rows))


def _take_again(
    session: Session, req: Request, reservation: LicReservation, holders: list[str]
) -> None:
    license_state(session, req.settings, req.now).check_may_allocate()
    pool_row = lock_pool(session, reservation.pool)
    held = active_allocations(session, reservation.pool, holders)
    missing = [h for h in holders if h not in held]
    try:
        take(session, pool_row, len(missing))
    except PoolExhausted as exc:
        raise ReservationExpired(
            f"reservation {reservation.id} expired and its units were taken meanwhile: "
            f"{exc.detail}",
            pool=exc.pool,
            capacity=exc.capacity,
            used=exc.used,
            requested=exc.requested,
        ) from exc
    for allocation in held.values():
        if allocation.state == RESERVED:
            allocation.reservation_id = reservation.id
            session.add(allocation)
    _add_allocations(session, req, reservation, missing)
