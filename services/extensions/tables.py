"""The extensions service's tables (all named `ext_*`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class DialNumber(SQLModel, table=True):
    """Every dialable number, whoever owns it: makes extension and queue numbers unique
    together, enforced by the database even under concurrent creates."""

    __tablename__ = "ext_dial_numbers"
    number: str = Field(primary_key=True, max_length=8)
    owner: str = Field(max_length=16)  # "extension" | "queue"


class Extension(SQLModel, table=True):
    __tablename__ = "ext_extensions"
    number: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=64)
    full_name: str = Field(max_length=128)
    email: str | None = Field(default=None, max_length=254)
    password: str = Field(max_length=64)
    shared_enabled: bool = False
    max_devices: int = 1
    voicemail: bool = False
    ring_seconds: int = 30
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Slot(SQLModel, table=True):
    __tablename__ = "ext_slots"
    __table_args__ = (UniqueConstraint("extension_number", "slot_index"),)
    auth_name: str = Field(primary_key=True, max_length=11)
    extension_number: str = Field(foreign_key="ext_extensions.number", index=True, max_length=8)
    slot_index: int
    ring_mode: str = Field(default="ring", max_length=16)
    tone: int | None = None


class Queue(SQLModel, table=True):
    __tablename__ = "ext_queues"
    name: str = Field(primary_key=True, max_length=32)
    number: str = Field(unique=True, max_length=8)
    strategy: str = Field(default="ringall", max_length=16)
    agent_ring_seconds: int = 15
    max_wait_seconds: int = 300
    created_at: datetime = Field(default_factory=utcnow)


class QueueAgent(SQLModel, table=True):
    __tablename__ = "ext_queue_agents"
    queue_name: str = Field(foreign_key="ext_queues.name", primary_key=True, max_length=32)
    extension_number: str = Field(
        foreign_key="ext_extensions.number", primary_key=True, max_length=8
    )
    logged_in_at: datetime = Field(default_factory=utcnow)


class Revision(SQLModel, table=True):
    """One telephony revision: immutable once written, apart from its deploy outcome."""

    __tablename__ = "ext_revisions"
    rev: int = Field(primary_key=True)
    content_hash: str = Field(max_length=64)
    # Canonical JSON of everything the revision was rendered from (holds passwords:
    # never returned by the public API).
    state_json: str = Field(sa_column=Column(Text, nullable=False))
    committed_by: str = Field(max_length=200)
    committed_at: datetime = Field(default_factory=utcnow)
    kind: str = Field(default="commit", max_length=16)  # "commit" | "rollback"
    source_rev: int | None = None  # the revision a rollback re-deployed
    deploy_status: str = Field(default="pending", max_length=16)
    deploy_detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class RevisionFile(SQLModel, table=True):
    __tablename__ = "ext_revision_files"
    rev: int = Field(foreign_key="ext_revisions.rev", primary_key=True)
    name: str = Field(primary_key=True, max_length=128)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CommitLock(SQLModel, table=True):
    """One row; a commit updates it first, which serializes commits on every database."""

    __tablename__ = "ext_commit_lock"
    id: int = Field(default=1, primary_key=True)
    holder: str = Field(default="", max_length=200)
    locked_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "ext_audit"
    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target: str = Field(max_length=64)
    detail: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, index=True)


class PendingConfirmation(SQLModel, table=True):
    """A license reservation whose change committed but whose confirmation has not been
    acknowledged yet; written in the change's own transaction, so a crash or a licensing
    outage right after the commit is repaired by retrying (at start-up, after writes)."""

    __tablename__ = "ext_pending_confirmations"
    reservation_id: str = Field(primary_key=True, max_length=64)
    idempotency_key: str = Field(max_length=250)
    created_at: datetime = Field(default_factory=utcnow)
