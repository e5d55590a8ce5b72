"""The one place where extensions take and give back license units (DESIGN rule 6).

A write that needs units reserves them *before* touching the database, then ties the
rest of the saga to the unit of work: confirm once the change has committed, release if
it rolls back. Units given back by a removal are released after the commit, and the
complete inventory is pushed so licensing's reconciler can repair a lost release.
Licensing unreachable → `ServiceUnavailable` (503) propagates and nothing changes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from services.common.db import READ, on_commit, on_rollback, unit_of_work
from services.common.errors import ProblemError
from services.extensions.tables import Extension, PendingConfirmation, Slot
from services.licensing.client import (
    SHARED_DEVICES,
    USERS,
    Actor,
    LicensingClient,
    ReservationExpired,
    ReservationNotFound,
    extension_holder,
    slot_holder,
)

log = logging.getLogger("shareline.extensions.licensing")

OWNER = "extensions"


def request_key(header_value: str | None) -> str:
    """The saga's idempotency key: the client's own key when it sent one."""
    return header_value.strip()[:200] if header_value and header_value.strip() else uuid.uuid4().hex


def extension_holders(number: str, secondary_auth_names: Iterable[str]) -> dict[str, list[str]]:
    """What an extension holds: one user unit, one shared-device unit per secondary slot."""
    return {USERS: [extension_holder(number)], **slot_holders(secondary_auth_names)}


def slot_holders(secondary_auth_names: Iterable[str]) -> dict[str, list[str]]:
    return {SHARED_DEVICES: [slot_holder(a) for a in secondary_auth_names]}


class LicenseSeam:
    """Reserve/confirm/release around a unit of work, and inventory pushes."""

    def __init__(self, client: LicensingClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine

    def allocate(
        self, session: Session, holders: dict[str, list[str]], *, key: str, actor: Actor
    ) -> None:
        """Reserve every pool's holders now (all or nothing); confirm after commit."""
        for pool, names in holders.items():
            if not names:
                continue
            pool_key = f"{key}:reserve:{pool}"
            reservation = self.client.reserve(pool, names, idempotency_key=pool_key, actor=actor)
            on_rollback(session, partial(self._release_unkept, pool, names, key, actor))
            confirm_key = f"{key}:confirm:{pool}"
            session.add(
                PendingConfirmation(reservation_id=reservation.id, idempotency_key=confirm_key)
            )
            on_commit(session, partial(self._confirm, reservation.id, confirm_key, actor))

    def confirm_pending(self) -> None:
        """Retry confirmations a crash or an outage left behind; best effort."""
        with unit_of_work(self.engine, READ) as session:
            pending = session.exec(select(PendingConfirmation)).all()
        for row in pending:
            self._confirm(row.reservation_id, row.idempotency_key, (None, None))

    def _confirm(self, reservation_id: str, key: str, actor: Actor) -> None:
        try:
            self.client.confirm(reservation_id, idempotency_key=key, actor=actor)
        except (ReservationExpired, ReservationNotFound):
            log.error(
                "license reservation %s expired before it was confirmed; "
                "licensing's reconciler reports the holders it released",
                reservation_id,
            )
        except ProblemError as exc:
            log.warning("confirming license reservation %s failed: %s", reservation_id, exc.detail)
            return
        with unit_of_work(self.engine) as session:
            session.exec(
                delete(PendingConfirmation).where(
                    col(PendingConfirmation.reservation_id) == reservation_id
                )
            )

    def release_after_commit(
        self, session: Session, holders: dict[str, list[str]], *, key: str, actor: Actor
    ) -> None:
        """Give units back once the removal has committed, then push the inventory."""
        for pool, names in holders.items():
            if names:
                on_commit(
                    session, partial(self._release, pool, names, f"{key}:release:{pool}", actor)
                )
        on_commit(session, self.push_inventory)

    def push_inventory(self) -> None:
        """Best effort: licensing may be down; its reconciler catches up next time."""
        taken_at = datetime.now(UTC)
        try:
            self.confirm_pending()
            holders = current_holders(self.engine)
            self.client.report_inventory(OWNER, holders, taken_at)
        except ProblemError as exc:
            log.warning("could not report the extensions inventory to licensing: %s", exc.detail)

    def _release(self, pool: str, names: list[str], key: str, actor: Actor) -> None:
        self.client.release(pool, names, idempotency_key=key, actor=actor)

    def _release_unkept(self, pool: str, names: list[str], key: str, actor: Actor) -> None:
        # A concurrent request may have committed the same holder (the loser of two
        # creates of one number): its unit must stay, so only release what nobody keeps.
        kept = current_holders(self.engine)[pool]
        unkept = [n for n in names if n not in set(kept)]
        if unkept:
            self.client.release(pool, unkept, idempotency_key=f"{key}:undo:{pool}", actor=actor)


def current_holders(engine: Engine) -> dict[str, list[str]]:
    """Every holder the committed database accounts for, per pool."""
    with unit_of_work(engine, READ) as session:
        numbers = session.exec(select(Extension.number).order_by(Extension.number)).all()
        secondaries = session.exec(
            select(Slot.auth_name).where(col(Slot.slot_index) > 1).order_by(Slot.auth_name)
        ).all()
    return {
        USERS: [extension_holder(n) for n in numbers],
        SHARED_DEVICES: [slot_holder(a) for a in secondaries],
    }
