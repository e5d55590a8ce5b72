"""Each softphone holds one `softphones` license for as long as its device row exists.

Creating a softphone reserves the unit inside the unit of work that inserts the device:
an exhausted pool (409, naming the pool and its numbers) or an unreachable licensing
service (503) aborts the request before anything is written. The reservation is
confirmed only once the device row has committed (`on_commit`) and released if the
transaction rolls back. Deleting a softphone releases its unit after the delete commits;
if licensing is down then, the inventory APS reports lets the reconciler release it.
"""

from __future__ import annotations

import logging

from fastapi import Request
from sqlmodel import Session, select

from services.aps.devices.models import Device
from services.aps.softphones.vendor import NAME as SOFTPHONE
from services.common.db import on_commit, on_rollback
from services.common.service_tokens import Caller
from services.licensing.client import SOFTPHONES, LicensingClient, softphone_holder

log = logging.getLogger("shareline.aps.softphones.licenses")

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
        licensing.release(
            SOFTPHONES, [holder], idempotency_key=f"aps-softphone-undo:{device_id}"
        )

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


def on_device_created(request: Request, session: Session, device: Device, caller: Caller) -> None:
    """Device-route hook: a new softphone holds its license (nothing for hardware phones)."""
    if device.vendor == SOFTPHONE:
        hold_license(session, _licensing(request), device.id, actor=(caller.user, caller.role))


def on_device_deleted(request: Request, session: Session, device: Device, caller: Caller) -> None:
    """Device-route hook: a deleted softphone gives its license back after the commit."""
    if device.vendor == SOFTPHONE:
        release_license(session, _licensing(request), device.id, actor=(caller.user, caller.role))


def _licensing(request: Request) -> LicensingClient:
    client: LicensingClient = request.app.state.softphones.licensing
    return client
