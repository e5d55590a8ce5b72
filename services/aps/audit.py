"""Who changed what in APS: one row per write, never carrying a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from services.aps.devices.models import utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "aps_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


def record(session: Session, actor: str, action: str, subject: str, **details: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, subject=subject, details=details))
