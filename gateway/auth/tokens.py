"""Administrator bearer tokens: short-lived JWTs, HS256 pinned.

The secret is the gateway's own (`SHARELINE_ADMIN_TOKEN_SECRET`), never the
service-token secret, so a service token can never pass as an admin token. The
algorithm list is fixed, never taken from the token; `exp`, `iat`, `iss`, `aud`
and `sub` are required, the issuer must match exactly, and `nbf` is honoured.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.users.models import Role

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
LEEWAY_SECONDS = 5


class InvalidToken(Exception):
    """The token is not one this gateway issued, or no longer valid."""


@dataclass(frozen=True)
class TokenClaims:
    username: str
    role: Role
    version: int


@dataclass(frozen=True)
class AdminTokens:
    secret: str
    issuer: str
    audience: str
    ttl_seconds: int

    def issue(
        self, username: str, role: Role, version: int = 0, *, now: float | None = None
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": username,
            "role": role.value,
            "ver": version,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        # Belt and braces against partial issuer matching (PyJWT CVE-2024-53861).
        if claims["iss"] != self.issuer or not isinstance(claims["sub"], str):
            raise InvalidToken("issuer or subject")
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise InvalidToken("role") from exc
        version = claims.get("ver")
        if not isinstance(version, int):
            raise InvalidToken("version")
        return TokenClaims(username=claims["sub"], role=role, version=version)
