"""What the administrator sees about a softphone's links: outstanding, and last redeemed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from services.aps.softphones.models import SoftphoneToken


class QrStatus(BaseModel):
    """A softphone's provisioning links as the administrator sees them (never the token)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device_id": "sp-3f2a9c0d1e4b5a6f7081",
                    "outstanding": True,
                    "issued_at": "2026-11-26T08:30:00Z",
                    "expires_at": "2026-11-26T08:45:00Z",
                    "sent_to": "alice@example.com",
                    "redeemed_at": None,
                    "redeemed_user_agent": None,
                    "redeemed_address": None,
                }
            ]
        }
    )

    device_id: str
    outstanding: bool
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    sent_to: str | None = None
    redeemed_at: datetime | None = None
    redeemed_user_agent: str | None = None
    redeemed_address: str | None = None


def qr_status(session: Session, device_id: str, *, now: datetime) -> QrStatus:
    """The outstanding link (if any, and until when) and the last redemption of a device."""
    outstanding = session.exec(
        select(SoftphoneToken)
        .where(
            SoftphoneToken.device_id == device_id,
            col(SoftphoneToken.redeemed_at).is_(None),
            col(SoftphoneToken.revoked_at).is_(None),
            SoftphoneToken.expires_at > now,
        )
        .order_by(col(SoftphoneToken.id).desc())
    ).first()
    redeemed = session.exec(
        select(SoftphoneToken)
        .where(SoftphoneToken.device_id == device_id, col(SoftphoneToken.redeemed_at).is_not(None))
        .order_by(col(SoftphoneToken.redeemed_at).desc())
    ).first()
    return QrStatus(
        device_id=device_id,
        outstanding=outstanding is not None,
        issued_at=outstanding.issued_at if outstanding else None,
        expires_at=outstanding.expires_at if outstanding else None,
        sent_to=outstanding.sent_to if outstanding else None,
        redeemed_at=redeemed.redeemed_at if redeemed else None,
        redeemed_user_agent=redeemed.redeemed_user_agent if redeemed else None,
        redeemed_address=redeemed.redeemed_address if redeemed else None,
    )
