"""Extensions and the slots that follow from `max devices` (DESIGN rules 6 and 7)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from services.extensions import audit, validation
from services.extensions.context import WriteContext
from services.extensions.extension.errors import (
    ExtensionNotFound,
    MaxDevicesOverCap,
    NumberTaken,
    SharedSettingsInvalid,
    SlotInUse,
)
from services.extensions.extension.schemas import ExtensionCreate, ExtensionUpdate, Shared
from services.extensions.licensing_seam import extension_holders, slot_holders
from services.extensions.tables import DialNumber, Extension, QueueAgent, Slot, utcnow


def get_extension(session: Session, number: str, *, for_update: bool = False) -> Extension:
    query = select(Extension).where(Extension.number == number)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise ExtensionNotFound(f"extension {number} does not exist")
    return found


def slots_of(session: Session, number: str) -> list[Slot]:
    return list(
        session.exec(
            select(Slot).where(Slot.extension_number == number).order_by(col(Slot.slot_index))
        ).all()
    )


def slots_by_extension(session: Session, numbers: list[str]) -> dict[str, list[Slot]]:
    """Slots of many extensions in one query."""
    out: dict[str, list[Slot]] = {n: [] for n in numbers}
    if numbers:
        rows = session.exec(
            select(Slot)
            .where(col(Slot.extension_number).in_(numbers))
            .order_by(col(Slot.extension_number), col(Slot.slot_index))
        ).all()
        for slot in rows:
            out[slot.extension_number].append(slot)
    return out


def list_extensions(session: Session, limit: int, offset: int) -> tuple[list[Extension], int]:
    total = session.exec(select(func.count()).select_from(Extension)).one()
    # Numbers sort as numbers: by length, then digits.
    rows = session.exec(
        select(Extension)
        .order_by(func.length(Extension.number), col(Extension.number))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def create_extension(ctx: WriteContext, body: ExtensionCreate) -> Extension:
    session = ctx.session
    _check_cap(ctx, body.shared.max_devices)
    if session.get(DialNumber, body.number) is not None:
        raise NumberTaken(f"number {body.number} is already in use")
    indexes = range(2, body.shared.max_devices + 1)
    secondaries = [validation.auth_name(body.number, i) for i in indexes]
    ctx.seam.allocate(
        session,
        extension_holders(body.number, secondaries),
        key=ctx.key,
        actor=ctx.licensing_actor,
    )
    extension = Extension(
        number=body.number,
        name=body.name,
        full_name=body.identity.full_name,
        email=body.identity.email,
        password=body.password or validation.generate_password(),
        shared_enabled=body.shared.enabled,
        max_devices=body.shared.max_devices,
        voicemail=body.no_answer.voicemail,
        ring_seconds=body.no_answer.ring_seconds,
    )
    try:
        session.add(DialNumber(number=body.number, owner="extension"))
        session.flush()
    except IntegrityError as exc:
        raise NumberTaken(f"number {body.number} is already in use") from exc
    session.add(extension)
    session.flush()
    _add_slots(session, body.number, range(1, body.shared.max_devices + 1))
    audit.record(
        session,
        ctx.actor,
        "extension.create",
        body.number,
        f"max_devices={body.shared.max_devices}",
    )
    return extension


def update_extension(
    ctx: WriteContext, number: str, body: ExtensionUpdate, *, force: bool
) -> Extension:
    session = ctx.session
    extension = get_extension(session, number, for_update=True)
    changed = body.model_dump(exclude_unset=True)
    if body.shared is not None:
        shared = _merged_shared(extension, body)
        _check_cap(ctx, shared.max_devices)
        _resize(ctx, extension, shared.max_devices, force=force)
        extension.shared_enabled = shared.enabled
        extension.max_devices = shared.max_devices
    if body.name is not None:
        extension.name = body.name
    if body.identity is not None:
        extension.full_name = body.identity.full_name
        extension.email = body.identity.email
    if body.password is not None:
        extension.password = body.password
    if body.no_answer is not None:
        extension.voicemail = body.no_answer.voicemail
        extension.ring_seconds = body.no_answer.ring_seconds
    extension.updated_at = utcnow()
    session.add(extension)
    audit.record(session, ctx.actor, "extension.update", number, ",".join(sorted(changed)))
    return extension


def delete_extension(ctx: WriteContext, number: str, *, force: bool) -> None:
    session = ctx.session
    extension = get_extension(session, number, for_update=True)
    slots = slots_of(session, number)
    _refuse_registered(ctx, [s.auth_name for s in slots], force=force)
    session.exec(delete(QueueAgent).where(col(QueueAgent.extension_number) == number))
    session.exec(delete(Slot).where(col(Slot.extension_number) == number))
    session.delete(extension)
    session.flush()
    session.exec(delete(DialNumber).where(col(DialNumber.number) == number))
    ctx.seam.release_after_commit(
        session,
        extension_holders(number, [s.auth_name for s in slots if s.slot_index > 1]),
        key=ctx.key,
        actor=ctx.licensing_actor,
    )
    audit.record(session, ctx.actor, "extension.delete", number)


def _merged_shared(extension: Extension, body: ExtensionUpdate) -> Shared:
    assert body.shared is not None
    enabled = extension.shared_enabled if body.shared.enabled is None else body.shared.enabled
    if body.shared.max_devices is not None:
        max_devices = body.shared.max_devices
    else:
        max_devices = extension.max_devices if enabled else 1
    try:
        return Shared(enabled=enabled, max_devices=max_devices)
    except ValueError as exc:
        raise SharedSettingsInvalid(
            "max_devices must be 1 while shared support is disabled", field="shared.max_devices"
        ) from exc


def _check_cap(ctx: WriteContext, max_devices: int) -> None:
    cap = ctx.settings.max_devices_cap
    if max_devices > cap:
        raise MaxDevicesOverCap(
            f"max_devices is {max_devices}; this system allows at most {cap}", cap=cap
        )


def _resize(ctx: WriteContext, extension: Extension, target: int, *, force: bool) -> None:
    current = extension.max_devices
    number = extension.number
    if target > current:
        added = range(current + 1, target + 1)
        ctx.seam.allocate(
            ctx.session,
            slot_holders(validation.auth_name(number, i) for i in added),
            key=ctx.key,
            actor=ctx.licensing_actor,
        )
        _add_slots(ctx.session, number, added)
    elif target < current:
        removed = [validation.auth_name(number, i) for i in range(current, target, -1)]
        _refuse_registered(ctx, removed, force=force)
        ctx.session.exec(delete(Slot).where(col(Slot.auth_name).in_(removed)))
        ctx.seam.release_after_commit(
            ctx.session,
            slot_holders(removed),
            key=ctx.key,
            actor=ctx.licensing_actor,
        )


def _refuse_registered(ctx: WriteContext, auth_names: list[str], *, force: bool) -> None:
    # Extensions cannot see APS's device lines (no dependency that way); a slot registered
    # right now is the evidence that a device uses it. APS reports orphaned lines itself.
    if force or not auth_names:
        return
    views = ctx.link.contacts(auth_names)
    busy = sorted(a for a, v in views.items() if v.status == "registered")
    if busy:
        raise SlotInUse(
            f"slot(s) {', '.join(busy)} are registered from a device; "
            "repeat with force=true to remove them anyway",
            slots=busy,
        )


def _add_slots(session: Session, number: str, indexes: range) -> None:
    for index in indexes:
        session.add(
            Slot(
                auth_name=validation.auth_name(number, index),
                extension_number=number,
                slot_index=index,
            )
        )
    session.flush()
