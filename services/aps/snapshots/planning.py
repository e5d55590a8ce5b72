"""Which devices a commit must re-render, decided from digests of their inputs.

A device's digest covers its own row (vendor, model, label, time zone and its offset
now, keys, credential), the digest of every slot its lines reference (number, name,
password, ring mode, SIP server), the vendor's template version and the settings that
reach the files. Equal digest, equal files: the device is not rendered again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, type_coerce
from sqlmodel import Session, select

from services.aps.devices.models import Device, DeviceLine
from services.aps.settings import Settings
from services.aps.snapshots.context import settings_digest, utc_offset_seconds
from services.aps.snapshots.models import RenderState
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
    total: int = 0


def _lines_by_device(session: Session) -> dict[str, list[tuple[int, str]]]:
    rows = session.exec(select(DeviceLine.device_id, DeviceLine.line, DeviceLine.auth_name))
    lines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for device_id, line, auth_name in rows:
        lines[device_id].append((line, auth_name))
    for device_lines in lines.values():
        device_lines.sort()
    return lines


def make_plan(session: Session, telephony: Telephony, catalog: Catalog, settings: Settings) -> Plan:
    """Compare every device's inputs with what its current files were rendered from."""
    plan = Plan()
    table = Device.__table__.c  # type: ignore[attr-defined]
    rows = session.exec(
        select(
            table.id, table.vendor, table.model, table.label, table.time_zone,
            type_coerce(table["keys"], String), table.credential_hash,
        )
    ).all()
    lines = _lines_by_device(session)
    previous = dict(session.exec(select(RenderState.device_id, RenderState.inputs_digest)).all())
    common = settings_digest(settings)
    slots = telephony.slots
    for row in rows:
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
                plan.missing_lines.append({"device": device_id, "line": number,
                                           "auth_name": auth_name})
            else:
                endpoints.append(auth_name)
            slot_digests.append((number, auth_name, slot.digest if slot else None))
        material = (tuple(row), slot_digests, vendor.version, common, utc_offset_seconds(row[4]))
        digest = hashlib.blake2b(repr(material).encode(), digest_size=16).hexdigest()
        plan.digests[device_id] = digest
        plan.endpoints[device_id] = endpoints
        if previous.pop(device_id, None) != digest:
            plan.changed.append(device_id)
    plan.removed = sorted(previous)
    return plan
