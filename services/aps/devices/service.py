"""Device rules: identity, vendor and model, lines on existing free slots, keys."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.aps.audit import record
from services.aps.devices import credentials
from services.aps.devices.credentials import Sealer
from services.aps.devices.errors import (
    DeviceExists,
    DeviceNotFound,
    InvalidDevice,
    InvalidMacAddress,
    SlotTaken,
    UnknownSlot,
)
from services.aps.devices.identity import (
    SOFTPHONE_ID,
    InvalidMac,
    new_softphone_id,
    parse_mac,
)
from services.aps.devices.models import Device, DeviceLine, utcnow
from services.aps.devices.schemas import DeviceCreate, DeviceUpdate, KeyIn, LineIn
from services.aps.telephony import Telephony
from services.aps.vendors.catalog import Catalog, VendorLike

SOFTPHONE = "softphone"


def device_id_from_path(text: str) -> str:
    """The stored id a path names; a malformed or unusable MAC names no device."""
    if SOFTPHONE_ID.fullmatch(text):
        return text
    try:
        return parse_mac(text)
    except InvalidMac as exc:
        raise DeviceNotFound(f"no device {text[:40]!r}") from exc


def get_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(f"no device {device_id}")
    return device


def device_lines(session: Session, device_id: str) -> list[DeviceLine]:
    return list(
        session.exec(
            select(DeviceLine)
            .where(DeviceLine.device_id == device_id)
            .order_by(col(DeviceLine.line))
        ).all()
    )


def _vendor(catalog: Catalog, name: str) -> VendorLike:
    vendor = catalog.get(name)
    if vendor is None:
        raise InvalidDevice(f"unknown vendor {name!r}; known: {', '.join(catalog.names())}")
    return vendor


def _check_model(vendor: VendorLike, model: str) -> None:
    names = [m.name for m in vendor.models]
    if model not in names:
        raise InvalidDevice(f"unknown {vendor.name} model {model!r}; known: {', '.join(names)}")


def _check_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidDevice(f"unknown time zone {name!r} (use an IANA name)") from exc


def _check_lines_and_keys(
    vendor: VendorLike,
    lines: Sequence[LineIn],
    keys: Sequence[KeyIn],
    telephony: Telephony,
    kept: frozenset[str] = frozenset(),
) -> None:
    numbers = [line.line for line in lines]
    if len(set(numbers)) != len(numbers):
        raise InvalidDevice("each line number may appear once")
    if any(n > vendor.max_lines for n in numbers):
        raise InvalidDevice(f"a {vendor.name} device has at most {vendor.max_lines} lines")
    auth_names = [line.auth_name for line in lines]
    if len(set(auth_names)) != len(auth_names):
        raise InvalidDevice("a slot may appear on one line of a device only")
    key_numbers = [key.key for key in keys]
    if len(set(key_numbers)) != len(key_numbers):
        raise InvalidDevice("each key number may appear once")
    max_keys = int(vendor.describe().get("max_keys", 0))
    if any(k > max_keys for k in key_numbers):
        raise InvalidDevice(f"a {vendor.name} device has at most {max_keys} keys")
    if set(key_numbers) & set(numbers):
        raise InvalidDevice("a key number may not reuse a line number (they share line keys)")
    unknown = [a for a in auth_names if a not in telephony.slots and a not in kept]
    if unknown:
        raise UnknownSlot(
            f"no slot {', '.join(unknown)} in the committed telephony "
            f"(revision {telephony.revision}); commit the extension first",
            auth_names=unknown,
        )


def _check_slots_free(session: Session, device_id: str, lines: Sequence[LineIn]) -> None:
    wanted = [line.auth_name for line in lines]
    if not wanted:
        return
    taken = session.exec(
        select(DeviceLine).where(
            col(DeviceLine.auth_name).in_(wanted), DeviceLine.device_id != device_id
        )
    ).first()
    if taken is not None:
        raise SlotTaken(
            f"slot {taken.auth_name} is already on line {taken.line} of device {taken.device_id}",
            auth_name=taken.auth_name,
            device=taken.device_id,
            line=taken.line,
        )


def _replace_lines(session: Session, device_id: str, lines: Sequence[LineIn]) -> None:
    for old in device_lines(session, device_id):
        session.delete(old)
    session.flush()
    for line in lines:
        session.add(DeviceLine(device_id=device_id, line=line.line, auth_name=line.auth_name))
    try:
        session.flush()
    except IntegrityError as exc:  # another request took the slot in between
        raise SlotTaken("a slot on this device was just taken by another device") from exc


def _new_id(body: DeviceCreate) -> str:
    if body.vendor == SOFTPHONE:
        if body.id is not None:
            raise InvalidDevice("a softphone's id is generated; leave id out")
        if len(body.lines) != 1:
            raise InvalidDevice("a softphone carries exactly one line")
        return new_softphone_id()
    if body.id is None:
        raise InvalidMacAddress("a hardware device needs its MAC address as id")
    try:
        return parse_mac(body.id)
    except InvalidMac as exc:
        raise InvalidMacAddress(str(exc)) from exc


def create_device(
    session: Session,
    body: DeviceCreate,
    telephony: Telephony,
    catalog: Catalog,
    sealer: Sealer,
    actor: str,
) -> Device:
    vendor = _vendor(catalog, body.vendor)
    device_id = _new_id(body)
    _check_model(vendor, body.model)
    _check_time_zone(body.time_zone)
    _check_lines_and_keys(vendor, body.lines, body.keys, telephony)
    if session.get(Device, device_id) is not None:
        raise DeviceExists(f"device {device_id} already exists", device=device_id)
    _check_slots_free(session, device_id, body.lines)
    password = credentials.new_password()
    device = Device(
        id=device_id,
        vendor=body.vendor,
        model=body.model,
        label=body.label,
        time_zone=body.time_zone,
        keys=[k.model_dump(exclude_none=True) for k in body.keys],
        credential_hash=credentials.hash_password(password),
        credential_sealed=sealer.seal(password),
    )
    session.add(device)
    try:
        session.flush()
    except IntegrityError as exc:
        raise DeviceExists(f"device {device_id} already exists", device=device_id) from exc
    _replace_lines(session, device_id, body.lines)
    record(
        session,
        actor,
        "device.create",
        device_id,
        vendor=body.vendor,
        model=body.model,
        lines=[line.model_dump() for line in body.lines],
    )
    return device


def update_device(
    session: Session,
    device: Device,
    body: DeviceUpdate,
    telephony: Telephony | None,
    catalog: Catalog,
    actor: str,
) -> Device:
    changes = body.model_dump(exclude_unset=True)
    vendor = _vendor(catalog, device.vendor)
    if changes.get("model") is not None:
        _check_model(vendor, changes["model"])
        device.model = changes["model"]
    if changes.get("time_zone") is not None:
        _check_time_zone(changes["time_zone"])
        device.time_zone = changes["time_zone"]
    if changes.get("label") is not None:
        device.label = changes["label"]
    lines = (
        body.lines
        if body.lines is not None
        else [
            LineIn(line=row.line, auth_name=row.auth_name)
            for row in device_lines(session, device.id)
        ]
    )
    keys = body.keys if body.keys is not None else [KeyIn(**k) for k in device.keys]
    if device.vendor == SOFTPHONE and len(lines) != 1:
        raise InvalidDevice("a softphone carries exactly one line")
    if body.lines is not None or body.keys is not None:
        assert telephony is not None
        # A slot the device already carries stays acceptable after it left the telephony:
        # the next commit reports it; refusing every other edit until then would be unkind.
        kept = frozenset(row.auth_name for row in device_lines(session, device.id))
        _check_lines_and_keys(vendor, lines, keys, telephony, kept)
    if body.keys is not None:
        device.keys = [k.model_dump(exclude_none=True) for k in body.keys]
    if body.lines is not None:
        _check_slots_free(session, device.id, body.lines)
        _replace_lines(session, device.id, body.lines)
    device.updated_at = utcnow()
    session.add(device)
    record(session, actor, "device.update", device.id, changed=sorted(changes))
    return device


def renew_credential(session: Session, device: Device, sealer: Sealer, actor: str) -> None:
    """A new provisioning password; the device enrols again (site credential first)."""
    password = credentials.new_password()
    device.credential_hash = credentials.hash_password(password)
    device.credential_sealed = sealer.seal(password)
    device.enrolled_at = None
    session.add(device)
    record(session, actor, "device.renew-credential", device.id)


def delete_device(session: Session, device: Device, actor: str) -> None:
    session.exec(delete(DeviceLine).where(col(DeviceLine.device_id) == device.id))
    session.delete(device)
    record(session, actor, "device.delete", device.id, vendor=device.vendor)
