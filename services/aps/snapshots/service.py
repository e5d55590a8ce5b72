"""APS commits: render what changed into a new immutable snapshot revision."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.aps.devices.credentials import Sealer
from services.aps.devices.models import Device, DeviceLine
from services.aps.settings import Settings
from services.aps.snapshots.context import DeviceInputs, common_context, device_context
from services.aps.snapshots.models import ApsState, RenderState, Snapshot, SnapshotFile
from services.aps.snapshots.planning import Plan, plan_next
from services.aps.telephony import Telephony
from services.aps.vendors.catalog import Catalog, RenderedFile
from services.aps.vendors.templating import UnsafeValue
from services.common.errors import Unprocessable

log = logging.getLogger("shareline.aps.commits")

CHUNK = 500


class RenderRefused(Unprocessable):
    """A value from the telephony would change the structure of a phone file."""

    slug = "unsafe-value"


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def lock_state(session: Session) -> ApsState:
    """The state row, locked: commits on any replica run one at a time."""
    state = session.exec(select(ApsState).where(ApsState.id == 1).with_for_update()).first()
    if state is None:
        session.add(ApsState(id=1, latest_revision=0))
        session.flush()
        state = session.exec(select(ApsState).where(ApsState.id == 1).with_for_update()).first()
    assert state is not None
    return state


def latest_revision(session: Session) -> int:
    value = session.exec(select(ApsState.latest_revision).where(ApsState.id == 1)).first()
    return int(value or 0)


def _load_devices(session: Session, ids: list[str]) -> Iterator[tuple[DeviceInputs, str]]:
    """The devices' render inputs and sealed credentials, read as plain rows."""
    for chunk in _chunks(ids):
        lines: dict[str, list[tuple[int, str]]] = {}
        for device_id, line, auth_name in session.exec(
            select(DeviceLine.device_id, DeviceLine.line, DeviceLine.auth_name).where(
                col(DeviceLine.device_id).in_(chunk)
            )
        ):
            lines.setdefault(device_id, []).append((line, auth_name))
        rows = session.connection().execute(
            sa_select(
                col(Device.id),
                col(Device.vendor),
                col(Device.model),
                col(Device.label),
                col(Device.time_zone),
                col(Device.keys),
                col(Device.credential_sealed),
            ).where(col(Device.id).in_(chunk))
        )
        for device_id, vendor, model, label, time_zone, keys, sealed in rows:
            inputs = DeviceInputs(
                device_id,
                vendor,
                model,
                label,
                time_zone,
                list(keys or []),
                sorted(lines.get(device_id, [])),
            )
            yield inputs, sealed


def _file_row(file: RenderedFile, device_id: str | None, revision: int) -> dict[str, Any]:
    return {
        "name": file.name.lower(),
        "device_id": device_id,
        "content": file.content,
        "content_type": file.content_type,
        "etag": etag_of(file.content),
        "first_revision": revision,
        "last_revision": None,
    }


def render_devices(
    session: Session,
    plan: Plan,
    telephony: Telephony,
    catalog: Catalog,
    settings: Settings,
    sealer: Sealer,
    revision: int,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for inputs, sealed in _load_devices(session, plan.changed):
        vendor = catalog.get(inputs.vendor)
        assert vendor is not None
        context = device_context(inputs, vendor, telephony, settings, sealer.unseal(sealed))
        try:
            rendered = vendor.render_device(context)
        except UnsafeValue as exc:
            raise RenderRefused(
                f"device {inputs.id}: {exc}; nothing was committed", device=inputs.id
            ) from exc
        rows.extend(_file_row(f, inputs.id, revision) for f in rendered)
    return rows


def _close(session: Session, device_ids: list[str], revision: int) -> None:
    for chunk in _chunks(device_ids):
        session.exec(
            update(SnapshotFile)
            .where(
                col(SnapshotFile.device_id).in_(chunk), col(SnapshotFile.last_revision).is_(None)
            )
            .values(last_revision=revision - 1)
        )


def _commit_common(
    session: Session, telephony: Telephony, catalog: Catalog, settings: Settings, revision: int
) -> list[str]:
    current = {
        name: (file_id, etag)
        for file_id, name, etag in session.exec(
            select(SnapshotFile.id, SnapshotFile.name, SnapshotFile.etag).where(
                col(SnapshotFile.device_id).is_(None), col(SnapshotFile.last_revision).is_(None)
            )
        )
    }
    rendered: dict[str, dict[str, Any]] = {}
    for vendor in catalog:
        context = common_context(vendor, telephony, settings)
        for file in vendor.render_common(context):
            rendered[file.name.lower()] = _file_row(file, None, revision)
    changed = sorted(n for n, row in rendered.items() if current.get(n, (0, ""))[1] != row["etag"])
    stale = [current[n][0] for n in current if n not in rendered or n in changed]
    if stale:
        session.exec(
            update(SnapshotFile)
            .where(col(SnapshotFile.id).in_(stale))
            .values(last_revision=revision - 1)
        )
    if changed:
        session.exec(insert(SnapshotFile), params=[rendered[n] for n in changed])
    return changed


def _note_planned_unchanged(session: Session, plan: Plan) -> None:
    """Edited devices whose files came out the same need no planning next time."""
    changed = set(plan.changed)
    unchanged = [d for d in plan.seen if d not in changed]
    if not unchanged:
        return
    table = RenderState.__table__  # type: ignore[attr-defined]
    session.exec(
        update(table)
        .where(table.c.device_id == bindparam("device"))
        .values(device_updated_at=bindparam("seen")),
        params=[{"device": d, "seen": plan.seen[d]} for d in unchanged],
    )


def commit(
    session: Session,
    telephony: Telephony,
    catalog: Catalog,
    settings: Settings,
    sealer: Sealer,
    actor: str,
) -> Snapshot:
    """Render every device whose inputs changed into snapshot revision latest + 1."""
    state = lock_state(session)
    revision = state.latest_revision + 1
    plan, key = plan_next(session, telephony, catalog, settings)
    files = render_devices(session, plan, telephony, catalog, settings, sealer, revision)
    touched = plan.changed + plan.removed
    _close(session, touched, revision)
    if files:
        session.exec(insert(SnapshotFile), params=files)
    for chunk in _chunks(touched):
        session.exec(delete(RenderState).where(col(RenderState.device_id).in_(chunk)))
    if plan.changed:
        session.exec(
            insert(RenderState),
            params=[
                {
                    "device_id": d,
                    "inputs_digest": plan.digests[d],
                    "revision": revision,
                    "endpoints": plan.endpoints[d],
                    "device_updated_at": plan.seen[d],
                }
                for d in plan.changed
            ],
        )
    _note_planned_unchanged(session, plan)
    common_changed = _commit_common(session, telephony, catalog, settings, revision)
    snapshot = Snapshot(
        revision=revision,
        actor=actor,
        telephony_revision=telephony.revision,
        devices_total=plan.total,
        devices_rendered=len(plan.changed),
        changed=plan.changed,
        removed=plan.removed,
        missing_lines=plan.missing_lines,
        skipped=plan.skipped,
        common_files_changed=common_changed,
        inputs_key=key,
    )
    session.add(snapshot)
    state.latest_revision = revision
    session.add(state)
    session.flush()
    log.info(
        "APS snapshot %s: %s of %s devices rendered, %s removed, %s lines without a slot",
        revision,
        len(plan.changed),
        plan.total,
        len(plan.removed),
        len(plan.missing_lines),
        extra={"actor": actor, "revision": revision},
    )
    return snapshot
