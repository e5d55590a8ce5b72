"""Slots are derived from max devices (see the extension service); here: ring modes."""

from __future__ import annotations

from sqlmodel import Session

from services.common.errors import NotFound
from services.extensions import audit
from services.extensions.context import WriteContext
from services.extensions.extension import service as extensions
from services.extensions.slots.schemas import RingModeUpdate
from services.extensions.tables import Slot, utcnow


class SlotNotFound(NotFound):
    slug, title = "slot-not-found", "Slot not found"


def get_slot(session: Session, number: str, auth_name: str) -> Slot:
    extensions.get_extension(session, number)
    slot = session.get(Slot, auth_name)
    if slot is None or slot.extension_number != number:
        raise SlotNotFound(f"extension {number} has no slot {auth_name}")
    return slot


def set_ring_mode(ctx: WriteContext, number: str, auth_name: str, body: RingModeUpdate) -> Slot:
    slot = get_slot(ctx.session, number, auth_name)
    slot.ring_mode = body.ring_mode
    slot.tone = body.tone
    ctx.session.add(slot)
    extension = extensions.get_extension(ctx.session, number)
    extension.updated_at = utcnow()
    ctx.session.add(extension)
    tone = f" tone {body.tone}" if body.tone else ""
    audit.record(ctx.session, ctx.actor, "slot.ring_mode", auth_name, body.ring_mode + tone)
    return slot
