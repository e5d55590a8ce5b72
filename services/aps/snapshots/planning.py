"""Which devices a commit must re-render, decided from digests of their inputs.

A device's digest covers its own row (vendor, model, label, time zone and its offset
now, keys, credential), the digest of every slot its lines reference (number, name,
password, ring mode, SIP server), the vendor's template version and the settings that
reach the files. Equal digest, equal files: the device is not rendered again.

When nothing global changed since the previous snapshot (same telephony content hash,
settings, template versions and day), only devices edited since they were last planned
can differ: their `updated_at` no longer equals the one their render state recorded (an
equality, so an edit committed late is still seen). Only those are read and hashed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.aps.devices.models import Device, DeviceLine
from services.aps.settings import Settings
from services.aps.snapshots.context import settings_digest, utc_offset_seconds
from services.aps.snapshots.models import RenderState, Snapshot
from services.aps.telephony import Telephony
from services.aps.vendors.catalog import Catalog


@dataclass
class Plan:
    digests: dict[str, str] = field(default_factory=dict)  # device id -> inputs digest
    changed: list[str] = field(default_factory=list)  # new or different inputs
    removed: list[str] = field(default_factory=list)  # rendered before, deleted since
    missing_lines: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)  # device id -> updated_at read
    total: int = 0


def _lines_by_device(
    session: Session, device_ids: list[str] | None
) -> dict[str, list[tuple[int, str]]]:
    query = sa_select(col(DeviceLine.device_id), col(DeviceLine.line), col(DeviceLine.auth_name))
    lines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    chunks = (
        [None]
        if device_ids is None
        else [device_ids[i : i + 500] for i in range(0, len(device_ids), 500)]
    )
    for chunk in chunks:
        scoped = query if chunk is None else query.where(col(DeviceLine.device_id).in_(chunk))
        for device_id, line, auth_name in session.connection().execute(scoped):
            lines[device_id].append((line, auth_name))
    for device_lines in lines.values():
        device_lines.sort()
    return lines


def inputs_key(telephony: Telephony, catalog: Catalog, settings: Settings) -> str:
    """Everything global a render reads; empty when the telephony has no content hash."""
    if not telephony.content_hash:
        return ""
    versions = sorted((v.name, v.version) for v in catalog)
    day = datetime.now(UTC).date().isoformat()  # time zone offsets move with DST
    material = (telephony.content_hash, settings_digest(settings), versions, day)
    return hashlib.blake2b(repr(material).encode(), digest_size=16).hexdigest()


def plan_next(
    session: Session, telephony: Telephony, catalog: Catalog, settings: Settings
) -> tuple[Plan, str]:
    """The plan of the next commit, read incrementally when nothing global changed."""
    key = inputs_key(telephony, catalog, settings)
    last = session.exec(select(Snapshot).order_by(col(Snapshot.revision).desc())).first()
    if key and last is not None and last.inputs_key == key:
        return make_plan(session, telephony, catalog, settings, previous=last), key
    return make_plan(session, telephony, catalog, settings), key


def make_plan(
    session: Session,
    telephony: Telephony,
    catalog: Catalog,
    settings: Settings,
    *,
    previous: Snapshot | None = None,
) -> Plan:
    """Compare devices' inputs with what their current files were rendered from.

    Every device; or, given the `previous` snapshot whose global inputs still hold, only
    devices edited since they were last planned (its report carries over for the rest).
    """
    plan = Plan()
    table = Device.__table__.c  # type: ignore[attr-defined]
    query = sa_select(
        table.id,
        table.vendor,
        table.model,
        table.label,
        table.time_zone,
        type_coerce(table["keys"], String),
        table.credential_hash,
        table.updated_at,
        col(RenderState.inputs_digest),
    ).outerjoin(RenderState, col(RenderState.device_id) == table.id)
    if previous is not None:
        query = query.where(
            or_(
                col(RenderState.device_updated_at).is_(None),
                col(RenderState.device_updated_at) != table.updated_at,
            )
        )
    rows = session.connection().execute(query).all()
    incremental = previous is not None
    lines = _lines_by_device(session, [r[0] for r in rows] if incremental else None)
    common = settings_digest(settings)
    slots = telephony.slots
    for full_row in rows:
        row, updated_at, last_digest = full_row[:7], full_row[7], full_row[8]
        device_id, vendor_name = row[0], row[1]
        vendor = catalog.get(vendor_name)
        if vendor is None:
            plan.skipped.append({"device": device_id, "reason": f"unknown vendor {vendor_name}"})
            continue
        plan.total += 1
        slot_digests = []
        endpoints = []
        for number, auth_name in lines.get(device_id, ()):
            slot = slots.get(auth_name)
            if slot is None:
                plan.missing_lines.append(
                    {"device": device_id, "line": number, "auth_name": auth_name}
                )
            else:
                endpoints.append(auth_name)
            slot_digests.append((number, auth_name, slot.digest if slot else None))
        material = (tuple(row), slot_digests, vendor.version, common, utc_offset_seconds(row[4]))
        digest = hashlib.blake2b(repr(material).encode(), digest_size=16).hexdigest()
        plan.digests[device_id] = digest
        plan.endpoints[device_id] = endpoints
        plan.seen[device_id] = updated_at
        if last_digest != digest:
            plan.changed.append(device_id)
    if incremental:
        _carry_over(session, plan, [r[0] for r in rows], previous, catalog)
    else:
        plan.removed = _removed(session)
    return plan


def _removed(session: Session) -> list[str]:
    table = Device.__table__.c  # type: ignore[attr-defined]
    gone = select(RenderState.device_id).where(
        ~select(table.id).where(table.id == RenderState.device_id).exists()
    )
    return sorted(session.exec(gone).all())


def _carry_over(
    session: Session,
    plan: Plan,
    planned: list[str],
    previous: Snapshot | None,
    catalog: Catalog,
) -> None:
    """Fill in what the incremental plan did not read: removals, totals, old reports."""
    plan.removed = _removed(session)
    known = catalog.names()
    plan.total = int(
        session.exec(
            select(func.count()).select_from(Device).where(col(Device.vendor).in_(known))
        ).one()
    )
    skipped = session.exec(
        select(Device.id, Device.vendor).where(col(Device.vendor).not_in(known))
    ).all()
    plan.skipped = [{"device": d, "reason": f"unknown vendor {v}"} for d, v in skipped]
    fresh = set(planned) | set(plan.removed)
    if previous is not None:
        old = [m for m in previous.missing_lines if m["device"] not in fresh]
        plan.missing_lines = sorted(
            old + plan.missing_lines, key=lambda m: (m["device"], m["line"])
        )
