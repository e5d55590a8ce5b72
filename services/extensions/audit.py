"""The audit trail: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from sqlmodel import Session

from services.extensions.tables import AuditEntry


def record(session: Session, actor: str, action: str, target: str, detail: str = "") -> None:
    """Add an audit entry; `detail` must never carry a secret."""
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail[:500]))
