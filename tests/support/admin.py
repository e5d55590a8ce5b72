"""Talking to a gateway with authentication on, as the suite's first administrator.

`Suite` starts the gateway with `SUITE_ADMIN_PASSWORD` for the first admin and
`SUITE_ADMIN_TOKEN_SECRET` for signing tokens; these helpers log in and keep a
bearer token fresh (tokens live 15 minutes; a session's suite may live longer).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx

SUITE_ADMIN_USERNAME = "admin"
SUITE_ADMIN_PASSWORD = "suite-admin-password-0123"
SUITE_ADMIN_TOKEN_SECRET = "e2e-admin-token-secret-fedcba9876543210"
TOKEN_PATH = "/api/v1/auth/token"


def login(
    base_url: str, username: str = SUITE_ADMIN_USERNAME, password: str = SUITE_ADMIN_PASSWORD
) -> dict[str, Any]:
    """The token response of `POST /api/v1/auth/token`; raises on a failed login."""
    response = httpx.post(
        base_url + TOKEN_PATH,
        data={"username": username, "password": password, "grant_type": "password"},
        timeout=30.0,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def admin_token(
    base_url: str, username: str = SUITE_ADMIN_USERNAME, password: str = SUITE_ADMIN_PASSWORD
) -> str:
    """A fresh bearer token for `username`."""
    return str(login(base_url, username, password)["access_token"])


class BearerLogin(httpx.Auth):
    """Logs in on first use, again shortly before the token expires or after a 401."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url, self.username, self.password = base_url, username, password
        self._token: str | None = None
        self._renew_at = 0.0

    def _refresh(self) -> str:
        body = login(self.base_url, self.username, self.password)
        self._token = str(body["access_token"])
        self._renew_at = time.monotonic() + max(float(body["expires_in"]) - 60.0, 1.0)
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token if self._token and time.monotonic() < self._renew_at else None
        request.headers["Authorization"] = f"Bearer {token or self._refresh()}"
        response = yield request
        if response.status_code == 401 and token is not None:
            request.headers["Authorization"] = f"Bearer {self._refresh()}"
            yield request


def admin_client(
    base_url: str,
    username: str = SUITE_ADMIN_USERNAME,
    password: str = SUITE_ADMIN_PASSWORD,
    **kwargs: Any,
) -> httpx.Client:
    """An `httpx.Client` on `base_url` that sends a bearer token for `username`."""
    kwargs.setdefault("timeout", 30.0)
    return httpx.Client(base_url=base_url, auth=BearerLogin(base_url, username, password), **kwargs)
