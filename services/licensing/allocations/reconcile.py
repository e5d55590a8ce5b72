"""Releasing what nobody holds any more.

Two kinds of leftovers: reservations never confirmed within their lifetime (the caller
crashed between reserve and confirm), and confirmed allocations an owner no longer has
(it crashed between its own delete and the release). The second kind is judged only
against the owner's latest inventory, and only for allocations confirmed before that
inventory was taken (minus a margin), so a unit confirmed after the snapshot is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from services.licensing.allocations.models import (
    CONFIRMED,
    EXPIRED,
    RESERVED,
    LicAllocation,
    LicInventory,
    LicReservation,
)
from services.licensing.allocations.service import deactivate
from services.licensing.audit.service import record
from services.licensing.clock import from_db, to_db
from services.licensing.pools.service import lock_pool


def release_expired(session: Session, *, now: datetime, actor: str) -> list[dict[str, Any]]:
    """Release every reservation past its lifetime; answers what was released."""
    due = session.exec(
        select(LicReservation).where(
            LicReservation.state == RESERVED, LicReservation.expires_at <= to_db(now)
        )
    ).all()
    released: list[dict[str, Any]] = []
    for reservation in sorted(due, key=lambda r: (r.pool, r.id)):
        lock_pool(session, reservation.pool)
        session.refresh(reservation)
        if reservation.state != RESERVED:
            continue  # confirmed or reaped by another replica meanwhile
        rows = session.exec(
            select(LicAllocation).where(
                LicAllocation.reservation_id == reservation.id,
                LicAllocation.state == RESERVED,
                col(LicAllocation.active).is_(True),
            )
        ).all()
        deactivate(session, rows, state=EXPIRED, reason="reservation-expired", now=now)
        reservation.state = EXPIRED
        session.add(reservation)
        holders = [row.holder for row in rows]
        released.append(
            {"reservation_id": reservation.id, "pool": reservation.pool, "holders": holders}
        )
        if holders:
            record(
                session,
                at=now,
                actor=actor,
                action="reservation-expired",
                pool=reservation.pool,
                summary=f"released {len(holders)} unconfirmed {reservation.pool} unit(s) of "
                f"reservation {reservation.id}: {', '.join(holders)}",
                reservation_id=reservation.id,
                holders=holders,
            )
    return released


def release_orphans(
    session: Session, *, now: datetime, margin: timedelta, actor: str
) -> list[dict[str, Any]]:
    """Release confirmed allocations absent from their owner's latest inventory."""
    inventories = session.exec(
        select(LicInventory).order_by(col(LicInventory.pool), col(LicInventory.owner))
    ).all()
    released: list[dict[str, Any]] = []
    for inventory in inventories:
        lock_pool(session, inventory.pool)
        session.refresh(inventory)
        cutoff = to_db(from_db(inventory.taken_at) - margin)
        present = set(inventory.holders)
        candidates = session.exec(
            select(LicAllocation).where(
                LicAllocation.pool == inventory.pool,
                LicAllocation.owner == inventory.owner,
                LicAllocation.state == CONFIRMED,
                col(LicAllocation.active).is_(True),
                col(LicAllocation.confirmed_at) < cutoff,
            )
        ).all()
        orphans = [row for row in candidates if row.holder not in present]
        if not orphans:
            continue
        deactivate(session, orphans, state="released", reason="orphan", now=now)
        holders = sorted(row.holder for row in orphans)
        released.extend(
            {"pool": inventory.pool, "holder": h, "owner": inventory.owner} for h in holders
        )
        record(
            session,
            at=now,
            actor=actor,
            action="orphans-released",
            pool=inventory.pool,
            summary=f"released {len(holders)} {inventory.pool} unit(s) that "
            f"{inventory.owner} no longer has: {', '.join(holders)}",
            owner=inventory.owner,
            holders=holders,
        )
    return released


def store_inventory(
    session: Session,
    *,
    owner: str,
    holders: Mapping[Any, list[str]],
    taken_at: datetime,
    now: datetime,
) -> None:
    """Keep the owner's latest inventory per pool; an older report never replaces a newer."""
    for pool, names in sorted(holders.items()):
        lock_pool(session, pool)
        existing = session.get(LicInventory, (owner, pool))
        if existing is not None and from_db(existing.taken_at) > taken_at:
            continue
        row = existing or LicInventory(
            owner=owner, pool=pool, taken_at=to_db(taken_at), received_at=to_db(now)
        )
        row.holders = sorted(set(names))
        row.taken_at = to_db(taken_at)
        row.received_at = to_db(now)
        session.add(row)
