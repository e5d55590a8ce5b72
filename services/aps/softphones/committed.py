"""Which slot a softphone carries in the latest APS commit, and its account in telephony.

APS records, per device, the endpoints (auth names) its current snapshot files were
rendered with (`aps_render_state`); that is what "committed" means for a softphone. The
account itself comes from the latest telephony commit, so a link opens nothing that
only exists as a pending edit.
"""

from __future__ import annotations

from sqlmodel import Session, select

from services.aps.devices.models import Device
from services.aps.snapshots.models import RenderState
from services.aps.softphones.account import SoftphoneAccount, account_for_slot
from services.aps.softphones.errors import NotASoftphone, SlotNotCommitted, SoftphoneNotFound
from services.aps.softphones.vendor import NAME as SOFTPHONE
from services.extensions.client import CommittedTelephony


def softphone(session: Session, device_id: str, *, lock: bool = False) -> Device:
    """The softphone, or the problem saying why not; `lock` serializes its link issuing."""
    query = select(Device).where(Device.id == device_id)
    # On PostgreSQL a row lock keeps two concurrent issuings from both staying outstanding;
    # SQLite's BEGIN IMMEDIATE already runs them one after the other.
    device = session.exec(query.with_for_update() if lock else query).first()
    if device is None:
        raise SoftphoneNotFound(f"device {device_id} does not exist", device=device_id)
    if device.vendor != SOFTPHONE:
        raise NotASoftphone(
            f"device {device_id} is a {device.vendor} phone; QR links are for softphones",
            device=device_id,
        )
    return device


def committed_slot(session: Session, device_id: str) -> str:
    """The auth name the latest APS commit gave this softphone, or a 409 saying so."""
    endpoints = session.exec(
        select(RenderState.endpoints).where(RenderState.device_id == device_id)
    ).first()
    if not endpoints:
        raise SlotNotCommitted(
            f"softphone {device_id} has no slot in the latest APS commit; assign it a slot, "
            "commit telephony, then commit APS",
            device=device_id,
        )
    return str(endpoints[0])


def committed_account(
    telephony: CommittedTelephony, device_id: str, auth_name: str
) -> SoftphoneAccount:
    account = account_for_slot(telephony, auth_name)
    if account is None:
        raise SlotNotCommitted(
            f"slot {auth_name} of softphone {device_id} is not in the latest telephony "
            "commit; commit telephony, then APS",
            device=device_id,
            auth_name=auth_name,
        )
    return account
