"""Authenticating the bearer token and authorizing the request against the table.

Only the `Authorization: Bearer` header is read: a token in a query string is ignored
(it would end up in access logs and browser history). Every token is checked against
the account it names, so deleting or disabling an account, changing its role or its
password takes effect at once, not when the token expires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from gateway.auth.errors import InsufficientRole, NotAuthenticated
from gateway.auth.tokens import AdminTokens, InvalidToken
from gateway.permissions import Open, required_access
from gateway.users.models import Role, User
from services.common.db import READ, unit_of_work
from services.common.errors import NotFound

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105
bearer_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

log = logging.getLogger("shareline.gateway.auth")


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role


def _refuse_dot_segments(path: str) -> None:
    # The table matches path prefixes; `/api/v1/extensions/../license` must not reach
    # a service (or a normalising client) as something the prefix did not name.
    segments = path.split("/")[1:]
    if any(s in ("", ".", "..") for s in segments[:-1]) or segments[-1] in (".", ".."):
        raise NotFound(f"no route for {path}")


def authenticate(request: Request, token: str | None) -> Principal:
    if not token:
        raise NotAuthenticated()
    tokens: AdminTokens = request.app.state.admin_tokens
    try:
        claims = tokens.verify(token)
    except InvalidToken as exc:
        log.info("bearer token refused: %s", exc)
        raise NotAuthenticated() from exc
    with unit_of_work(request.app.state.engine, READ) as session:
        user = session.exec(select(User).where(User.username == claims.username)).first()
    if user is None or user.disabled or claims.version != user.token_version:
        raise NotAuthenticated()
    return Principal(user.username, Role(user.role))


async def authorize(
    request: Request, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Principal | None:
    """The caller, checked against the permission table; None on open paths."""
    path, method = request.url.path, request.method
    _refuse_dot_segments(path)
    if isinstance(required_access(method, path), Open):
        return None  # the phone path stays free of database work and thread hops
    principal = await run_in_threadpool(authenticate, request, token)
    needed = required_access(method, path, principal.username)
    assert isinstance(needed, Role)
    if not principal.role.at_least(needed):
        raise InsufficientRole(principal.role.value, needed.value)
    request.state.user = principal.username
    request.state.role = principal.role.value
    return principal


CurrentPrincipal = Annotated[Principal | None, Depends(authorize)]


def signed_in(principal: CurrentPrincipal) -> Principal:
    """For routes that are never open: the authorized caller."""
    if principal is None:
        raise NotAuthenticated()
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]
