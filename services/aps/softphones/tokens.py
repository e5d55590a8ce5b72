"""The one-time token store: issue, look up, redeem exactly once, revoke.

A token is `secrets.token_urlsafe(32)` (256 bits). Only its SHA-256 is stored; logs name
a token by the first characters of that hash (`token_ref`). Redemption is one conditional
UPDATE (`... WHERE token_hash = :h AND redeemed_at IS NULL ...`): of any number of
concurrent redemptions the database lets exactly one change the row.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.aps.softphones.errors import TokenExpired, TokenRevoked, TokenUnknown, TokenUsed
from services.aps.softphones.models import SoftphoneToken

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")

REPLACED = "replaced"
MAIL_FAILED = "mail-failed"
WITHDRAWN = "withdrawn"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def token_ref(hashed: str) -> str:
    """What logs may carry to tell tokens apart: a short prefix of the hash."""
    return hashed[:12]


def is_token_shaped(token: str) -> bool:
    return bool(_TOKEN_SHAPE.match(token))


@dataclass(frozen=True)
class IssuedToken:
    """A token as the administrator receives it, once: the clear value is never stored."""

    token: str
    hashed: str
    device_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Redemption:
    """Who redeemed a token, for the administrator's view."""

    user_agent: str | None
    address: str | None
    format: str


def issue(
    session: Session,
    device_id: str,
    *,
    now: datetime,
    ttl_seconds: int,
    issued_by: str | None = None,
    sent_to: str | None = None,
) -> IssuedToken:
    """A new token for the device; any earlier unused one stops working."""
    revoke_outstanding(session, device_id, now=now, reason=REPLACED)
    token = new_token()
    hashed = token_hash(token)
    expires = now + timedelta(seconds=ttl_seconds)
    session.add(
        SoftphoneToken(
            device_id=device_id,
            token_hash=hashed,
            issued_at=now,
            expires_at=expires,
            issued_by=issued_by,
            sent_to=sent_to,
        )
    )
    session.flush()
    return IssuedToken(token=token, hashed=hashed, device_id=device_id, expires_at=expires)


def revoke_outstanding(session: Session, device_id: str, *, now: datetime, reason: str) -> int:
    result = session.execute(
        update(SoftphoneToken)
        .where(
            col(SoftphoneToken.device_id) == device_id,
            col(SoftphoneToken.redeemed_at).is_(None),
            col(SoftphoneToken.revoked_at).is_(None),
        )
        .values(revoked_at=now, revoked_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoke(session: Session, hashed: str, *, now: datetime, reason: str) -> None:
    session.execute(
        update(SoftphoneToken)
        .where(
            col(SoftphoneToken.token_hash) == hashed,
            col(SoftphoneToken.redeemed_at).is_(None),
            col(SoftphoneToken.revoked_at).is_(None),
        )
        .values(revoked_at=now, revoked_reason=reason)
    )


def find(session: Session, token: str) -> SoftphoneToken | None:
    if not is_token_shaped(token):
        return None
    return session.exec(
        select(SoftphoneToken).where(SoftphoneToken.token_hash == token_hash(token))
    ).first()


def usable(session: Session, token: str, *, now: datetime) -> SoftphoneToken:
    """The row of a token that may still be redeemed, or the problem saying why not."""
    row = find(session, token)
    if row is None:
        raise TokenUnknown("this provisioning link is not valid; ask for a new one")
    check_usable(row, now)
    return row


def check_usable(row: SoftphoneToken, now: datetime) -> None:
    if row.redeemed_at is not None:
        raise TokenUsed(
            "this provisioning link was already used; ask your administrator for a new one"
        )
    if row.revoked_at is not None:
        raise TokenRevoked(
            "this provisioning link was replaced or withdrawn; use the newest one you received"
        )
    if row.expires_at <= now:
        raise TokenExpired("this provisioning link expired; ask your administrator for a new one")


def redeem(
    session: Session, token: str, *, now: datetime, redemption: Redemption
) -> SoftphoneToken:
    """Mark the token used, atomically; exactly one caller ever gets past this."""
    if not is_token_shaped(token):
        raise TokenUnknown("this provisioning link is not valid; ask for a new one")
    hashed = token_hash(token)
    result = session.execute(
        update(SoftphoneToken)
        .where(
            col(SoftphoneToken.token_hash) == hashed,
            col(SoftphoneToken.redeemed_at).is_(None),
            col(SoftphoneToken.revoked_at).is_(None),
            col(SoftphoneToken.expires_at) > now,
        )
        .values(
            redeemed_at=now,
            redeemed_user_agent=(redemption.user_agent or "")[:256] or None,
            redeemed_address=(redemption.address or "")[:64] or None,
            redeemed_format=redemption.format,
        )
        .execution_options(synchronize_session=False)
    )
    row = session.exec(select(SoftphoneToken).where(SoftphoneToken.token_hash == hashed)).first()
    if row is None:
        raise TokenUnknown("this provisioning link is not valid; ask for a new one")
    if not result.rowcount:  # type: ignore[attr-defined]
        session.refresh(row)
        check_usable(row, now)
        raise TokenUsed("this provisioning link was already used")
    session.refresh(row)
    return row
