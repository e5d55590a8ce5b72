"""Snapshot tables.

A snapshot is immutable. Files are stored once and carry the range of revisions they
belong to (`first_revision` … `last_revision`, open-ended while current), so a commit
that changes one device among 10,000 writes that device's files and closes its old
ones, and revision R is exactly the files whose range contains R.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from services.aps.devices.models import utcnow


class ApsState(SQLModel, table=True):
    """One row: the latest snapshot revision. Commits lock it to run one at a time."""

    __tablename__ = "aps_state"

    id: int = Field(default=1, primary_key=True)
    latest_revision: int = 0


class Snapshot(SQLModel, table=True):
    __tablename__ = "aps_snapshots"

    revision: int = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=128)
    telephony_revision: int | None = None
    devices_total: int = 0
    devices_rendered: int = 0
    changed: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    removed: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    missing_lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    skipped: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    common_files_changed: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Digest of everything global a render reads (telephony content, settings, template
    # versions, the day): while it stays the same, only edited devices need planning.
    inputs_key: str = Field(default="", max_length=48)


class SnapshotFile(SQLModel, table=True):
    __tablename__ = "aps_snapshot_files"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96, index=True)  # lowercase: lookups ignore case
    device_id: str | None = Field(default=None, max_length=40, index=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    content_type: str = Field(max_length=64)
    etag: str = Field(max_length=48)
    first_revision: int = Field(index=True)
    last_revision: int | None = Field(default=None, index=True)


class RenderState(SQLModel, table=True):
    """What each device's current files were rendered from, and when."""

    __tablename__ = "aps_render_state"

    device_id: str = Field(primary_key=True, max_length=40)
    inputs_digest: str = Field(max_length=48)
    revision: int
    endpoints: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # The device's `updated_at` when last planned: a different value means "edited".
    device_updated_at: datetime | None = None
