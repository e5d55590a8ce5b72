"""The one-time link table: one row per link ever issued for a softphone.

Only the SHA-256 of a token is stored, so a copy of the database opens no account.
Rows are kept after use so the administrator can see when and from where a softphone
redeemed its link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

# Models of the device table are imported so the foreign key resolves on table creation.
from services.aps.devices.models import Device  # noqa: F401


class SoftphoneToken(SQLModel, table=True):
    __tablename__ = "aps_softphone_tokens"

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(
        sa_column=Column(
            String(40),
            ForeignKey("aps_devices.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    token_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime
    expires_at: datetime
    issued_by: str | None = Field(default=None, max_length=128)
    sent_to: str | None = Field(default=None, max_length=320)
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=32)
    redeemed_at: datetime | None = None
    redeemed_user_agent: str | None = Field(default=None, max_length=256)
    redeemed_address: str | None = Field(default=None, max_length=64)
    redeemed_format: str | None = Field(default=None, max_length=16)
