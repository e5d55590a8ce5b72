"""The first administrator, created when the gateway starts on an empty database."""

from __future__ import annotations

import logging
import re
import secrets

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gateway.auth.passwords import hash_password
from gateway.settings import Settings
from gateway.users.models import PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN, Role, User
from services.common.db import WRITE, unit_of_work

log = logging.getLogger("shareline.gateway.bootstrap")


class BootstrapError(RuntimeError):
    """The gateway cannot start: it would have no administrator."""


def _first_password(settings: Settings) -> tuple[str, bool]:
    if settings.admin_password is not None:
        password = settings.admin_password.get_secret_value()
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise BootstrapError(
                f"SHARELINE_ADMIN_PASSWORD must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
            )
        return password, False
    if settings.mode == "production":
        raise BootstrapError(
            "no administrator exists: set SHARELINE_ADMIN_PASSWORD for the first one"
        )
    return secrets.token_urlsafe(18), True


def ensure_first_admin(engine: Engine, settings: Settings) -> None:
    """Create the first admin when no account exists; never touch existing ones."""
    if not re.match(USERNAME_PATTERN, settings.admin_username):
        raise BootstrapError(f"SHARELINE_ADMIN_USERNAME must match {USERNAME_PATTERN}")
    try:
        with unit_of_work(engine, WRITE) as session:
            if session.exec(select(User.id).limit(1)).first() is not None:
                return
            password, generated = _first_password(settings)
            session.add(
                User(
                    username=settings.admin_username,
                    password_hash=hash_password(password),
                    role=Role.admin.value,
                )
            )
    except IntegrityError:  # another replica created it first
        return
    if generated:
        # Printed once, on purpose: it is the only way to learn it.
        log.warning(
            "no administrator existed: created %r with the generated password %s "
            "(change it with PUT /api/v1/users/%s)",
            settings.admin_username,
            password,
            settings.admin_username,
        )
    else:
        log.info("created the first administrator %r", settings.admin_username)
