"""Service-to-service tokens.

Every request a service serves (but its health probes) carries a short-lived JWT in
`X-Service-Token`: `iss` names the calling service, `aud` the target service, and when
the gateway forwards an administrator's request, `sub` and `role` name that person so
the service can record who changed what. HS256 with a shared secret, algorithm pinned.
The phone's own `Authorization` header travels untouched, so the service token has a
header of its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from services.common.errors import Unauthorized

HEADER = "X-Service-Token"
ALGORITHM = "HS256"
SERVICES = ("gateway", "extensions", "licensing", "aps")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the service, and the person the gateway acts for, if any."""

    service: str
    user: str | None = None
    role: str | None = None
    client_ip: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.user}" if self.user else f"service:{self.service}"


def issue(
    secret: str,
    *,
    issuer: str,
    audience: str,
    ttl_seconds: int = 120,
    user: str | None = None,
    role: str | None = None,
    client_ip: str | None = None,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if user:
        claims["sub"] = user
    if role:
        claims["role"] = role
    if client_ip:
        claims["cip"] = client_ip
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, *, audience: str) -> Caller:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["iss", "aud", "iat", "exp"], "strict_aud": True},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("a valid service token is required") from exc
    issuer = claims["iss"]
    if issuer not in SERVICES or issuer == audience:
        raise Unauthorized("a valid service token is required")
    return Caller(
        service=issuer, user=claims.get("sub"), role=claims.get("role"), client_ip=claims.get("cip")
    )


class TokenMinter:
    """Issues tokens to one audience, reusing a token until half its life is gone.

    Signing per request is measurable on the phone path; a token without a person in
    it is the same for every request, so it is cached.
    """

    def __init__(self, secret: str, issuer: str, audience: str, ttl_seconds: int = 120) -> None:
        self._secret, self._issuer, self._audience = secret, issuer, audience
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._cached: tuple[str, float] | None = None

    def token(self, *, user: str | None = None, role: str | None = None) -> str:
        if user or role:
            return issue(
                self._secret,
                issuer=self._issuer,
                audience=self._audience,
                ttl_seconds=self._ttl,
                user=user,
                role=role,
            )
        now = time.time()
        with self._lock:
            if self._cached and self._cached[1] > now:
                return self._cached[0]
            value = issue(
                self._secret, issuer=self._issuer, audience=self._audience, ttl_seconds=self._ttl
            )
            self._cached = (value, now + self._ttl / 2)
            return value


class TokenVerifier:
    """Verifies incoming service tokens; remembers recent good ones until they expire."""

    def __init__(self, secret: str, audience: str, cache_size: int = 4096) -> None:
        self._secret, self._audience, self._cache_size = secret, audience, cache_size
        self._good: dict[str, tuple[Caller, float]] = {}

    def __call__(self, token: str | None) -> Caller:
        if not token:
            raise Unauthorized("a valid service token is required")
        hit = self._good.get(token)
        now = time.time()
        if hit and hit[1] > now:
            return hit[0]
        caller = verify(self._secret, token, audience=self._audience)
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        if len(self._good) >= self._cache_size:
            self._good.clear()
        self._good[token] = (caller, float(exp))
        return caller


def require_caller(request: Request) -> Caller:
    """FastAPI dependency: the verified caller, or 401."""
    verifier: TokenVerifier = request.app.state.token_verifier
    caller = verifier(request.headers.get(HEADER))
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]
