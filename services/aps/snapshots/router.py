"""`/api/v1/aps/changes` and `/api/v1/aps/commits`."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.aps.audit import record
from services.aps.deps import CatalogDep, SealerDep, SettingsDep, TelephonyDep
from services.aps.snapshots import service
from services.aps.snapshots.models import Snapshot
from services.aps.snapshots.planning import plan_next
from services.common.bounds import MAX_DB_INT
from services.common.db import on_commit
from services.common.deps import SessionDep
from services.common.errors import NotFound, problem_responses
from services.common.memory import WORTH_RELEASING, release_freed_memory_soon
from services.common.metrics import metrics_for
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep

router = protected_router()

MISSING_EXAMPLE: list[Any] = [{"device": "001565aabbcc", "line": 2, "auth_name": "100_3"}]


class Changes(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "base_revision": 4,
                    "telephony_revision": 12,
                    "devices_total": 3,
                    "changed": ["001565aabbcc"],
                    "removed": [],
                    "missing_lines": MISSING_EXAMPLE,
                    "skipped": [],
                }
            ]
        }
    }

    base_revision: int = Field(description="The latest APS snapshot revision")
    telephony_revision: int | None
    devices_total: int
    changed: list[str] = Field(description="Devices whose files the next commit re-renders")
    removed: list[str] = Field(description="Deleted devices whose files the next commit drops")
    missing_lines: list[dict[str, Any]] = Field(
        description="Lines whose slot is not in the committed telephony: reported, not rendered"
    )
    skipped: list[dict[str, Any]]


class SnapshotPublic(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "revision": 5,
                    "created_at": "2026-11-26T09:00:00Z",
                    "actor": "admin",
                    "telephony_revision": 12,
                    "devices_total": 3,
                    "devices_rendered": 1,
                    "changed": ["001565aabbcc"],
                    "removed": [],
                    "missing_lines": [],
                    "skipped": [],
                    "common_files_changed": [],
                }
            ]
        }
    }

    revision: int
    created_at: datetime
    actor: str
    telephony_revision: int | None
    devices_total: int
    devices_rendered: int
    changed: list[str]
    removed: list[str]
    missing_lines: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    common_files_changed: list[str]


def _public(snapshot: Snapshot) -> SnapshotPublic:
    return SnapshotPublic.model_validate(snapshot, from_attributes=True)


@router.get(
    "/api/v1/aps/changes",
    tags=["aps commits"],
    summary="Which devices' files the next APS commit will change",
    response_model=Changes,
    responses=problem_responses(503),
)
def changes(
    telephony: TelephonyDep,
    session: SessionDep,
    _caller: CallerDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Changes:
    plan, _key = plan_next(session, telephony, catalog, settings)
    return Changes(
        base_revision=service.latest_revision(session),
        telephony_revision=telephony.revision,
        devices_total=plan.total,
        changed=plan.changed,
        removed=plan.removed,
        missing_lines=plan.missing_lines,
        skipped=plan.skipped,
    )


@router.post(
    "/api/v1/aps/commits",
    tags=["aps commits"],
    summary="Render the changed devices from the latest telephony commit into a new snapshot",
    description=(
        "Takes slots and credentials of the latest telephony revision, re-renders only the "
        "devices whose inputs changed, and publishes the result as a new immutable snapshot "
        "revision that phones fetch from at once. Lines whose slot no longer exists are "
        "listed in `missing_lines` and left out of the files."
    ),
    status_code=201,
    response_model=SnapshotPublic,
    responses=problem_responses(503),
)
def create_commit(
    request: Request,
    telephony: TelephonyDep,
    session: SessionDep,
    caller: CallerDep,
    catalog: CatalogDep,
    sealer: SealerDep,
    settings: SettingsDep,
) -> SnapshotPublic:
    started = time.perf_counter()
    with metrics_for(request.app).render_seconds.time():
        snapshot, written = service.commit_written(
            session, telephony, catalog, settings, sealer, caller.actor
        )
    record(
        session,
        caller.actor,
        "aps.commit",
        str(snapshot.revision),
        telephony_revision=telephony.revision,
        rendered=snapshot.devices_rendered,
    )
    app = request.app

    def published() -> None:
        app.state.index.advance(app.state.engine, written)
        metrics_for(app).commit_seconds.labels(kind="aps").observe(time.perf_counter() - started)

    on_commit(session, published)
    if snapshot.devices_rendered >= WORTH_RELEASING:
        on_commit(session, release_freed_memory_soon)  # the render's heap, back to the system
    return _public(snapshot)


@router.get(
    "/api/v1/aps/commits",
    tags=["aps commits"],
    summary="APS snapshot revisions, newest first",
    response_model=list[SnapshotPublic],
)
def list_commits(
    session: SessionDep, _caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[SnapshotPublic]:
    rows = session.exec(select(Snapshot).order_by(col(Snapshot.revision).desc()).limit(limit))
    return [_public(s) for s in rows.all()]


@router.get(
    "/api/v1/aps/commits/{revision}",
    tags=["aps commits"],
    summary="One APS snapshot revision",
    response_model=SnapshotPublic,
    responses=problem_responses(404),
)
def get_commit(
    revision: Annotated[int, Path(ge=1, le=MAX_DB_INT)], session: SessionDep, _caller: CallerDep
) -> SnapshotPublic:
    snapshot = session.get(Snapshot, revision)
    if snapshot is None:
        raise NotFound(f"no APS snapshot revision {revision}")
    return _public(snapshot)
