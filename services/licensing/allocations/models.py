"""Reservations, allocations, idempotency records and owners' inventories.

An allocation row is one unit held by one holder. `active` rows are the ones counted
in the pool's `used`; a partial unique index keeps one active row per (pool, holder).
Released rows stay as history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

RESERVED, CONFIRMED, RELEASED, EXPIRED = "reserved", "confirmed", "released", "expired"
CANCELLED = "cancelled"


class LicReservation(SQLModel, table=True):
    __tablename__ = "lic_reservation"

    id: str = Field(primary_key=True)
    pool: str
    owner: str
    state: str = Field(index=True)
    created_at: datetime
    expires_at: datetime = Field(index=True)
    confirmed_at: datetime | None = None


class LicAllocation(SQLModel, table=True):
    __tablename__ = "lic_allocation"
    __table_args__ = (
        Index(
            "lic_allocation_one_active_holder",
            "pool",
            "holder",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    pool: str = Field(index=True)
    holder: str = Field(index=True)
    owner: str
    reservation_id: str = Field(index=True)
    state: str
    active: bool = Field(index=True)
    created_at: datetime
    confirmed_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: str | None = None


class LicIdempotency(SQLModel, table=True):
    __tablename__ = "lic_idempotency"
    __table_args__ = (UniqueConstraint("operation", "key", name="lic_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    operation: str
    key: str
    body_hash: str
    status_code: int | None = None
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime


class LicInventory(SQLModel, table=True):
    __tablename__ = "lic_inventory"

    owner: str = Field(primary_key=True)
    pool: str = Field(primary_key=True)
    holders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    taken_at: datetime
    received_at: datetime
