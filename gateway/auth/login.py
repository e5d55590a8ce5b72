"""Checking a username and password, with lockout after repeated failures.

Failures are counted on the account row in the database, so the count holds across
gateway replicas. A locked account answers exactly like a wrong password (401,
same body): the answer never tells whether a username exists or is locked. The
Argon2 check runs outside the write transaction, and unknown usernames are checked
against a decoy hash, so timing does not tell either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from gateway.auth.errors import InvalidCredentials
from gateway.auth.passwords import hash_password, needs_rehash, verify_password
from gateway.users.models import User, utcnow
from services.common.db import READ, WRITE, unit_of_work

log = logging.getLogger("shareline.gateway.login")


@dataclass(frozen=True)
class Lockout:
    max_failures: int
    window: timedelta
    duration: timedelta


def _find(engine: Engine, username: str) -> User | None:
    with unit_of_work(engine, READ) as session:
        return session.exec(select(User).where(User.username == username)).first()


def _record_failure(engine: Engine, user_id: int, lockout: Lockout, now: datetime) -> None:
    with unit_of_work(engine, WRITE) as session:
        user = session.exec(select(User).where(User.id == user_id).with_for_update()).one()
        if user.first_failed_at is None or user.first_failed_at <= now - lockout.window:
            user.failed_logins, user.first_failed_at = 1, now
        else:
            user.failed_logins += 1
        if user.failed_logins >= lockout.max_failures:
            user.locked_until = now + lockout.duration
            user.failed_logins, user.first_failed_at = 0, None
            log.warning(
                "account %s locked until %s after %d failed logins",
                user.username,
                user.locked_until.isoformat(),
                lockout.max_failures,
            )
        session.add(user)


def _record_success(engine: Engine, user_id: int, password: str) -> None:
    with unit_of_work(engine, WRITE) as session:
        user = session.exec(select(User).where(User.id == user_id).with_for_update()).one()
        user.failed_logins, user.first_failed_at = 0, None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.add(user)


def check_password_login(engine: Engine, username: str, password: str, lockout: Lockout) -> User:
    """The account, or InvalidCredentials."""
    now = utcnow()
    user = _find(engine, username)
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or user.id is None:
        raise InvalidCredentials()
    if user.locked_until is not None and user.locked_until > now:
        log.warning("login refused: account %s is locked", user.username)
        raise InvalidCredentials()
    if not matches:
        _record_failure(engine, user.id, lockout, now)
        raise InvalidCredentials()
    if user.disabled:
        log.info("login refused: account %s is disabled", user.username)
        raise InvalidCredentials()
    if user.failed_logins or needs_rehash(user.password_hash):
        _record_success(engine, user.id, password)
    return user
