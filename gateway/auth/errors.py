"""The gateway's authentication and authorization problems."""

from __future__ import annotations

from typing import Any

from services.common.errors import Forbidden, Unauthorized

CHALLENGE = "Bearer"


class NotAuthenticated(Unauthorized):
    """No usable bearer token: missing, malformed, expired, forged or revoked."""

    slug = "not-authenticated"

    def __init__(self, detail: str = "a valid bearer token is required", **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"WWW-Authenticate": CHALLENGE}


class InvalidCredentials(Unauthorized):
    """Wrong username or password, a locked or a disabled account: all look alike."""

    slug = "invalid-credentials"

    def __init__(self) -> None:
        # `error` lets OAuth2 clients recognise the failure (RFC 6749 section 5.2).
        super().__init__("the username or password is wrong", error="invalid_grant")
        self.headers = {"WWW-Authenticate": CHALLENGE, "Cache-Control": "no-store"}


class InsufficientRole(Forbidden):
    slug = "insufficient-role"

    def __init__(self, role: str, required: str) -> None:
        super().__init__(
            f"this needs the {required} role; you have {role}", role=role, required_role=required
        )
