"""Device tables: one row per phone or softphone, one row per line it carries.

A slot (auth name) sits on at most one device line: `aps_device_lines.auth_name` is
unique, so the database holds that rule across replicas. Keys are a small JSON list on
the device; nothing needs to query into them.

Softphones are devices too: `vendor = "softphone"`, `id` from `new_softphone_id()`,
exactly one line.

Every write to a device row moves `updated_at` (SQLAlchemy `onupdate`), and a change of
lines alone must set it too: while nothing global changed, an APS commit plans only the
devices whose `updated_at` moved since they were last planned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Device(SQLModel, table=True):
    __tablename__ = "aps_devices"

    id: str = Field(primary_key=True, max_length=40)  # canonical MAC, or a softphone id
    vendor: str = Field(max_length=32, index=True)
    model: str = Field(max_length=32)
    label: str = Field(default="", max_length=64)
    time_zone: str = Field(default="UTC", max_length=64)
    keys: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    # The per-device provisioning password: a hash to check it on the phone path, and a
    # sealed copy (Fernet) so a commit can render it into the device's own file.
    credential_hash: str = Field(max_length=64)
    credential_sealed: str = Field(max_length=512)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(
        default_factory=utcnow, index=True, sa_column_kwargs={"onupdate": utcnow}
    )
    enrolled_at: datetime | None = None
    last_fetch_at: datetime | None = None
    last_fetch_address: str | None = Field(default=None, max_length=64)
    last_fetch_user_agent: str | None = Field(default=None, max_length=256)
    last_fetch_revision: int | None = None


class DeviceLine(SQLModel, table=True):
    __tablename__ = "aps_device_lines"

    device_id: str = Field(
        sa_column=Column(
            String(40), ForeignKey("aps_devices.id", ondelete="CASCADE"), primary_key=True
        )
    )
    line: int = Field(primary_key=True)
    auth_name: str = Field(max_length=16, unique=True)
