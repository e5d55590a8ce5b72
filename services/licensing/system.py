"""The system identity (what a license is bound to) and the latest time ever seen."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, select

from services.licensing.clock import from_db, to_db
from services.licensing.sql import insert_if_absent


class LicSystem(SQLModel, table=True):
    __tablename__ = "lic_system"

    id: int = Field(default=1, primary_key=True)
    system_id: str
    first_started_at: datetime
    max_seen_at: datetime


def new_system_id() -> str:
    """80 random bits as four groups of base32, e.g. SL-7K2M-Q9XD-A4TR-PL3C."""
    text = base64.b32encode(secrets.token_bytes(10)).decode()
    return "SL-" + "-".join(text[i : i + 4] for i in range(0, 16, 4))


def ensure_system(session: Session, now: datetime) -> LicSystem:
    """The one system row, created at the first start of any replica."""
    insert_if_absent(
        session,
        LicSystem,
        {
            "id": 1,
            "system_id": new_system_id(),
            "first_started_at": to_db(now),
            "max_seen_at": to_db(now),
        },
    )
    return load_system(session)


def load_system(session: Session) -> LicSystem:
    return session.exec(select(LicSystem).where(LicSystem.id == 1)).one()


def record_time_seen(session: Session, now: datetime) -> None:
    """Remember `now` if it is the latest time seen; a clock set back is noticed later."""
    session.exec(
        update(LicSystem)  # type: ignore[call-overload]
        .where(LicSystem.id == 1, LicSystem.max_seen_at < to_db(now))  # type: ignore[arg-type]
        .values(max_seen_at=to_db(now))
    )


def max_seen(system: LicSystem) -> datetime:
    return from_db(system.max_seen_at)
