"""Writing and reading the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.licensing.audit.models import LicAudit
from services.licensing.clock import from_db, to_db

_INSERT = LicAudit.__table__.insert()  # type: ignore[attr-defined]


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    summary: str,
    pool: str | None = None,
    **data: Any,
) -> None:
    session.add(
        LicAudit(at=to_db(at), actor=actor, action=action, pool=pool, summary=summary, data=data)
    )


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    summary: str,
    pool: str | None = None,
    **data: Any,
) -> None:
    """`record` as one INSERT, now, without an ORM instance (for hot paths)."""
    session.connection().execute(
        _INSERT,
        {
            "at": to_db(at),
            "actor": actor,
            "action": action,
            "pool": pool,
            "summary": summary,
            "data": data,
        },
    )


def page(
    session: Session, *, action: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(LicAudit)
    counting = select(func.count()).select_from(LicAudit)
    if action:
        query = query.where(LicAudit.action == action)
        counting = counting.where(LicAudit.action == action)
    rows = session.exec(query.order_by(col(LicAudit.id).desc()).offset(offset).limit(limit)).all()
    total = session.exec(counting).one()
    return [public(row) for row in rows], int(total)


def public(row: LicAudit) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": from_db(row.at).isoformat(),
        "actor": row.actor,
        "action": row.action,
        "pool": row.pool,
        "summary": row.summary,
        "data": row.data,
    }
