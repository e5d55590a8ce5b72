"""`GET /api/v1/license/audit`: the trail of installs, allocations and releases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.licensing.audit.service import page
from services.licensing.deps import LimitQuery, OffsetQuery

router = protected_router()


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    pool: str | None
    summary: str
    data: dict[str, Any]


class AuditPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 7,
                            "at": "2026-11-26T09:00:00+00:00",
                            "actor": "admin",
                            "action": "confirmed",
                            "pool": "shared_devices",
                            "summary": "confirmed shared_devices for slot:100_2",
                            "data": {"holders": ["slot:100_2"]},
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                }
            ]
        }
    )

    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


@router.get(
    "/api/v1/license/audit",
    response_model=AuditPage,
    summary="Installs, reservations, confirmations and releases, newest first",
    responses=problem_responses(401, 422),
    tags=["license"],
)
def read_audit(
    session: SessionDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
    action: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z_-]*$")] = None,
) -> dict[str, Any]:
    items, total = page(session, action=action, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
