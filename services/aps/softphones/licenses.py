"""Each softphone holds one `softphones` license for as long as its device row exists.

Creating a softphone reserves the unit inside the unit of work that inserts the device:
an exhausted pool (409, naming the pool and its numbers) or an unreachable licensing
service (503) aborts the request before anything is written. The reservation is
confirmed only once the device row has committed (`on_commit`) and released if the
transaction rolls back. Deleting a softphone releases its unit after the delete commits.

After every softphone creation or deletion APS reports its complete inventory of
softphone holders, so a release lost while licensing was down is undone by licensing's
reconciler (`POST /api/v1/license/reconcile`) once a later report reaches it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session, select

from services.aps.devices.models import Device
from services.aps.softphones.vendor import NAME as SOFTPHONE
from services.common.db import READ, on_commit, on_rollback, unit_of_work
from services.common.service_tokens import Caller
from services.licensing.client import SOFTPHONES, LicensingClient, softphone_holder

log = logging.getLogger("shareline.aps.softphones.licenses")

OWNER = "aps"

Actor = tuple[str | None, str | None]


def hold_license(
    session: Session, licensing: LicensingClient, device_id: str, *, actor: Actor = (None, None)
) -> None:
    """Reserve the softphone's license now; confirm it when this unit of work commits."""
    holder = softphone_holder(device_id)
    reservation = licensing.reserve(
        SOFTPHONES, [holder], idempotency_key=f"aps-softphone-hold:{device_id}", actor=actor
    )

    def confirm() -> None:
        licensing.confirm(reservation.id, idempotency_key=f"aps-softphone-confirm:{device_id}")

    def give_back() -> None:
        licensing.release(SOFTPHONES, [holder], idempotency_key=f"aps-softphone-undo:{device_id}")

    on_commit(session, confirm)
    on_rollback(session, give_back)


def release_license(
    session: Session, licensing: LicensingClient, device_id: str, *, actor: Actor = (None, None)
) -> None:
    """Give the softphone's license back once its deletion has committed."""
    holder = softphone_holder(device_id)

    def release() -> None:
        released = licensing.release(
            SOFTPHONES, [holder], idempotency_key=f"aps-softphone-release:{device_id}", actor=actor
        )
        log.info("softphone license released", extra={"device_id": device_id, "released": released})

    on_commit(session, release)


def softphone_holders(session: Session) -> list[str]:
    """Every softphone holder APS has, for `LicensingClient.report_inventory`."""
    ids = session.exec(select(Device.id).where(Device.vendor == SOFTPHONE)).all()
    return sorted(softphone_holder(device_id) for device_id in ids)


def report_inventory(engine: Engine, licensing: LicensingClient) -> None:
    """Tell licensing every softphone APS has (the time is taken before the read)."""
    taken_at = datetime.now(UTC)
    with unit_of_work(engine, READ) as session:
        holders = softphone_holders(session)
    licensing.report_inventory(OWNER, {SOFTPHONES: holders}, taken_at)


def on_device_created(request: Request, session: Session, device: Device, caller: Caller) -> None:
    """Device-route hook: a new softphone holds its license (nothing for hardware phones)."""
    if device.vendor == SOFTPHONE:
        licensing = _licensing(request)
        hold_license(session, licensing, device.id, actor=(caller.user, caller.role))
        _report_after_commit(request, session, licensing)


def on_device_deleted(request: Request, session: Session, device: Device, caller: Caller) -> None:
    """Device-route hook: a deleted softphone gives its license back after the commit."""
    if device.vendor == SOFTPHONE:
        licensing = _licensing(request)
        release_license(session, licensing, device.id, actor=(caller.user, caller.role))
        _report_after_commit(request, session, licensing)


def _report_after_commit(request: Request, session: Session, licensing: LicensingClient) -> None:
    engine: Engine = request.app.state.engine
    on_commit(session, lambda: report_inventory(engine, licensing))


def _licensing(request: Request) -> LicensingClient:
    client: LicensingClient = request.app.state.softphones.licensing
    return client
