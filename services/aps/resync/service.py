"""Resync: ask Asterisk to send each device's endpoints its vendor's check-sync event.

Only endpoints a device carried at the latest APS commit are notified. Devices go out
in batches with a pause between, so a commit touching every phone is no boot storm.
The extensions service answers per endpoint: sent, not-registered, unknown-endpoint,
or skipped (no Asterisk link); a device whose vendor has no check-sync is skipped.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from services.aps.devices.models import Device
from services.aps.snapshots.models import RenderState, Snapshot
from services.aps.vendors.catalog import Catalog
from services.common.db import READ, unit_of_work
from services.extensions.client import ExtensionsClient


@dataclass
class Target:
    device: str
    vendor: str
    endpoints: list[str]
    event: str | None = None
    results: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def report(self) -> dict[str, Any]:
        statuses = set(self.results.values())
        if self.reason or not self.results:
            status = "skipped"
        elif statuses == {"sent"}:
            status = "sent"
        elif "sent" in statuses:
            status = "partial"
        else:
            status = sorted(statuses)[0]
        return {
            "device": self.device,
            "event": self.event,
            "status": status,
            "endpoints": self.results,
            "reason": self.reason,
        }


def load_targets(engine: Engine, device_ids: list[str] | None) -> tuple[int, list[Target]]:
    """Devices (all changed by the latest commit when `device_ids` is None) and endpoints."""
    with unit_of_work(engine, READ) as session:
        latest = session.exec(select(Snapshot).order_by(col(Snapshot.revision).desc())).first()
        revision = latest.revision if latest else 0
        if device_ids is None:
            device_ids = list(latest.changed) if latest else []
        endpoints = dict(
            session.exec(
                select(RenderState.device_id, RenderState.endpoints).where(
                    col(RenderState.device_id).in_(device_ids)
                )
            ).all()
        )
        vendors = dict(
            session.exec(
                select(Device.id, Device.vendor).where(col(Device.id).in_(device_ids))
            ).all()
        )
    targets = [
        Target(d, vendors[d], list(endpoints.get(d) or [])) for d in device_ids if d in vendors
    ]
    return revision, targets


def resync(
    targets: list[Target],
    catalog: Catalog,
    client: ExtensionsClient,
    *,
    reboot: bool,
    batch_size: int,
    pause_seconds: float,
) -> list[dict[str, Any]]:
    for target in targets:
        vendor = catalog.get(target.vendor)
        event = vendor.check_sync.get("reboot" if reboot else "resync") if vendor else None
        if not event:
            target.reason = f"{target.vendor} devices have no check-sync event"
        elif not target.endpoints:
            target.reason = "the device carries no line at the latest commit"
        target.event = event
    pending = [t for t in targets if t.reason is None]
    for number, start in enumerate(range(0, len(pending), max(1, batch_size))):
        if number and pause_seconds > 0:
            time.sleep(pause_seconds)
        by_event: dict[str, list[Target]] = defaultdict(list)
        for target in pending[start : start + batch_size]:
            assert target.event is not None
            by_event[target.event].append(target)
        for event, batch in by_event.items():
            answers = client.notify([e for t in batch for e in t.endpoints], event)
            for target in batch:
                target.results = {e: answers.get(e, "unknown-endpoint") for e in target.endpoints}
    return [t.report() for t in targets]
