"""One counter row per pool: the database enforces `used ≤ capacity` on it."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class LicPool(SQLModel, table=True):
    __tablename__ = "lic_pool"

    name: str = Field(primary_key=True)
    capacity: int
    used: int = 0
