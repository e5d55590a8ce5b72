"""Idempotency-Key: the same key and body get the stored answer; another body gets 422.

The key is claimed with an INSERT … ON CONFLICT DO NOTHING at the start of the unit of
work, so a concurrent duplicate waits for the first to commit and then replays its
answer. A request that fails rolls back its claim with everything else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from services.licensing.allocations.models import LicIdempotency
from services.licensing.client import IdempotencyKeyReused
from services.licensing.clock import to_db
from services.licensing.sql import insert_if_absent

_TABLE = LicIdempotency.__table__  # type: ignore[attr-defined]
_STORE = _TABLE.update().where(
    _TABLE.c.operation == bindparam("op"), _TABLE.c.key == bindparam("k")
)

MAX_KEY_LENGTH = 200
# Long past any retry: callers retry within seconds, and confirmations left pending by
# an outage are retried within minutes.
KEPT_FOR = timedelta(days=2)


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def body_hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    session: Session, *, operation: str, key: str, payload: Any, now: datetime
) -> Replay | None:
    """None when this request owns the key; else the stored answer to replay."""
    digest = body_hash(payload)
    if insert_if_absent(
        session,
        LicIdempotency,
        {"operation": operation, "key": key, "body_hash": digest, "created_at": to_db(now)},
    ):
        return None
    row = _row(session, operation, key)
    if row.body_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body"
        )
    if row.status_code is None or row.response is None:
        # Only possible while the first request is still in flight on a database that
        # does not make us wait for it; that request's answer is not known yet.
        raise IdempotencyKeyReused("a request with this Idempotency-Key is still in progress")
    return Replay(row.status_code, row.response)


def store(
    session: Session, *, operation: str, key: str, status_code: int, body: dict[str, Any]
) -> None:
    session.connection().execute(
        _STORE, {"op": operation, "k": key, "status_code": status_code, "response": body}
    )


def _row(session: Session, operation: str, key: str) -> LicIdempotency:
    return session.exec(
        select(LicIdempotency).where(
            LicIdempotency.operation == operation, LicIdempotency.key == key
        )
    ).one()


def forget_old(session: Session, now: datetime) -> None:
    """Drop answers older than any retry could come for."""
    session.exec(
        delete(LicIdempotency).where(col(LicIdempotency.created_at) < to_db(now - KEPT_FOR))
    )
