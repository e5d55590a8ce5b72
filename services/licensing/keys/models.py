"""Every installed license key, newest last; the newest is the one in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class LicKey(SQLModel, table=True):
    __tablename__ = "lic_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str
    license_id: str
    customer: str
    issued_at: datetime | None = None
    not_before: datetime
    expires_at: datetime
    users: int
    shared_devices: int
    softphones: int
    token: str = Field(sa_column=Column(Text, nullable=False))
    installed_at: datetime
    installed_by: str
