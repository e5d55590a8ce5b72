"""APS commits: render what changed into a new immutable snapshot revision."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, bindparam, delete, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
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
_Query = TypeVar("_Query", bound=Select)
# Core tables: thousands of rows go in as one executemany, without ORM bookkeeping.
FILES: Table = SnapshotFile.__table__  # type: ignore[attr-defined]
RENDER_STATES: Table = RenderState.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DeviceAccessRow:
    """What the phone path needs of a rendered device, read in the commit's transaction."""

    credential_hash: str
    enrolled: bool
    password: str = field(repr=False)  # unsealed for the render; the index keeps its hash
    vendor: str


@dataclass
class Written:
    """Exactly what a commit changed in the snapshot tables, for the phone index.

    `opened` are the rows inserted (open from `revision`), `closed` the (name, etag,
    device id) of the rows whose range now ends at `revision - 1`.
    """

    revision: int
    opened: list[dict[str, Any]] = field(default_factory=list)
    closed: list[tuple[str, str, str | None]] = field(default_factory=list)
    devices: dict[str, DeviceAccessRow] = field(default_factory=dict)


class RenderRefused(Unprocessable):
    """A value from the telephony would change the structure of a phone file."""

    slug = "unsafe-value"


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


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


def _id_groups(ids: list[str], total: int) -> list[list[str] | None]:
    """The ids in groups of up to CHUNK for `IN` lists; or, when they are most of the
    `total` rows, one group `None`: read every row and keep the wanted ones.

    SQLAlchemy names each value of an IN list anew at every execution (~5 µs a value):
    for all 10,000 devices of a full commit, reading every row is the cheaper way.
    """
    if len(ids) > CHUNK and 2 * len(ids) >= total:
        return [None]
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _where_in(
    query: _Query, column: ColumnElement[Any] | Mapped[Any], group: list[str] | None
) -> _Query:
    return query if group is None else query.where(column.in_(group))


def _load_devices(
    session: Session, ids: list[str], total: int
) -> Iterator[tuple[DeviceInputs, str, str, bool]]:
    """The devices' render inputs, sealed credentials, credential hashes and enrolment."""
    wanted = set(ids)
    connection = session.connection()
    lines_query = sa_select(
        col(DeviceLine.device_id), col(DeviceLine.line), col(DeviceLine.auth_name)
    )
    devices_query = sa_select(
        col(Device.id),
        col(Device.vendor),
        col(Device.model),
        col(Device.label),
        col(Device.time_zone),
        col(Device.keys),
        col(Device.credential_sealed),
        col(Device.credential_hash),
        col(Device.enrolled_at),
    )
    for group in _id_groups(ids, total):
        lines: dict[str, list[tuple[int, str]]] = {}
        query = _where_in(lines_query, col(DeviceLine.device_id), group)
        for device_id, line, auth_name in connection.execute(query):
            if device_id in wanted:
                lines.setdefault(device_id, []).append((line, auth_name))
        rows = connection.execute(_where_in(devices_query, col(Device.id), group))
        for device_id, vendor, model, label, time_zone, keys, sealed, hashed, enrolled in rows:
            if device_id not in wanted:
                continue
            inputs = DeviceInputs(
                device_id,
                vendor,
                model,
                label,
                time_zone,
                list(keys or []),
                sorted(lines.get(device_id, [])),
            )
            yield inputs, sealed, hashed, enrolled is not None


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
    written: Written,
) -> None:
    """Render the plan's changed devices into `written` (rows not yet inserted)."""
    devices = _load_devices(session, plan.changed, plan.total)
    for inputs, sealed, hashed, enrolled in devices:
        vendor = catalog.get(inputs.vendor)
        assert vendor is not None
        password = sealer.unseal(sealed)
        context = device_context(inputs, vendor, telephony, settings, password)
        try:
            rendered = vendor.render_device(context)
        except UnsafeValue as exc:
            raise RenderRefused(
                f"device {inputs.id}: {exc}; nothing was committed", device=inputs.id
            ) from exc
        written.opened.extend(_file_row(f, inputs.id, written.revision) for f in rendered)
        written.devices[inputs.id] = DeviceAccessRow(hashed, enrolled, password, inputs.vendor)


def _close(session: Session, device_ids: list[str], total: int, written: Written) -> None:
    """End the devices' open files at the previous revision, noting which they were."""
    connection = session.connection()
    current = FILES.c.last_revision.is_(None) & FILES.c.device_id.is_not(None)
    which = (FILES.c.name, FILES.c.etag, FILES.c.device_id)
    wanted = set(device_ids)
    for group in _id_groups(device_ids, total):
        if group is not None and connection.dialect.update_returning:
            closing = update(FILES).where(current & FILES.c.device_id.in_(group))
            rows = connection.execute(
                closing.values(last_revision=written.revision - 1).returning(*which)
            ).all()
            written.closed.extend((name, etag, device_id) for name, etag, device_id in rows)
            continue
        found = connection.execute(
            _where_in(sa_select(FILES.c.id, *which).where(current), FILES.c.device_id, group)
        ).all()
        ending = [(file_id, name, etag, d) for file_id, name, etag, d in found if d in wanted]
        if ending:
            connection.execute(
                update(FILES)
                .where(FILES.c.id == bindparam("file"))
                .values(last_revision=bindparam("until")),
                [{"file": file_id, "until": written.revision - 1} for file_id, *_ in ending],
            )
        written.closed.extend((name, etag, d) for _, name, etag, d in ending)


def _commit_common(
    session: Session, telephony: Telephony, catalog: Catalog, settings: Settings, written: Written
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
            rendered[file.name.lower()] = _file_row(file, None, written.revision)
    changed = sorted(n for n, row in rendered.items() if current.get(n, (0, ""))[1] != row["etag"])
    stale = [n for n in current if n not in rendered or n in changed]
    if stale:
        session.exec(
            update(SnapshotFile)
            .where(col(SnapshotFile.id).in_([current[n][0] for n in stale]))
            .values(last_revision=written.revision - 1)
        )
        written.closed.extend((n, current[n][1], None) for n in stale)
    if changed:
        opened = [rendered[n] for n in changed]
        session.connection().execute(insert(FILES), opened)
        written.opened.extend(opened)
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
    return commit_written(session, telephony, catalog, settings, sealer, actor)[0]


def commit_written(
    session: Session,
    telephony: Telephony,
    catalog: Catalog,
    settings: Settings,
    sealer: Sealer,
    actor: str,
) -> tuple[Snapshot, Written]:
    """`commit`, and what it wrote: the phone index takes that instead of reading it back."""
    state = lock_state(session)
    revision = state.latest_revision + 1
    written = Written(revision)
    plan, key = plan_next(session, telephony, catalog, settings)
    render_devices(session, plan, telephony, catalog, settings, sealer, written)
    touched = plan.changed + plan.removed
    _close(session, touched, plan.total, written)
    if written.opened:
        session.connection().execute(insert(FILES), written.opened)
    if touched:
        session.connection().execute(
            delete(RENDER_STATES).where(RENDER_STATES.c.device_id == bindparam("device")),
            [{"device": d} for d in touched],
        )
    if plan.changed:
        session.connection().execute(
            insert(RENDER_STATES),
            [
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
    common_changed = _commit_common(session, telephony, catalog, settings, written)
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
    return snapshot, written
