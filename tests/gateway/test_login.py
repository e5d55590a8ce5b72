"""Logging in: wrong passwords, unknown users and lockout all look the same from outside."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx

from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import ADMIN_PASSWORD
from tests.gateway.helpers import login


def _comparable(response: httpx.Response) -> tuple[int, dict[str, Any], str | None]:
    return response.status_code, response.json(), response.headers.get("www-authenticate")


async def test_unknown_user_and_wrong_password_get_the_same_401(gateway: httpx.AsyncClient) -> None:
    wrong = await login(gateway, "admin", "not-the-password")
    unknown = await login(gateway, "nobody", "not-the-password")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["type"] == "urn:shareline:problem:invalid-credentials"
    assert _comparable(wrong) == _comparable(unknown)
    assert "not-the-password" not in wrong.text


async def test_grant_type_other_than_password_is_refused(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/api/v1/auth/token",
        data={"username": "admin", "password": ADMIN_PASSWORD, "grant_type": "client_credentials"},
    )
    assert response.status_code == 422
    assert ADMIN_PASSWORD not in response.text


async def test_repeated_failures_lock_the_account_like_a_wrong_password(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(login_max_failures=3, login_lockout_seconds=1)
    client = await lifespan_client(create_app(settings))
    failures = [await login(client, "admin", f"guess-{i}") for i in range(3)]
    assert all(f.status_code == 401 for f in failures)

    locked = await login(client, "admin", ADMIN_PASSWORD)
    assert _comparable(locked) == _comparable(failures[0])
    assert _comparable(await login(client, "ghost", "guess")) == _comparable(locked)

    await asyncio.sleep(1.1)
    assert (await login(client, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_failures_outside_the_window_do_not_add_up(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(login_max_failures=2, login_failure_window_seconds=1)
    client = await lifespan_client(create_app(settings))
    await login(client, "admin", "guess-1")
    await asyncio.sleep(1.1)
    await login(client, "admin", "guess-2")
    assert (await login(client, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_a_successful_login_resets_the_failure_count(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await lifespan_client(create_app(make_settings(login_max_failures=2)))
    await login(client, "admin", "guess-1")
    assert (await login(client, "admin", ADMIN_PASSWORD)).status_code == 200
    await login(client, "admin", "guess-2")
    assert (await login(client, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_lockout_is_logged_without_the_password(
    lifespan_client: Any, make_settings: Callable[..., Settings], caplog: Any
) -> None:
    app = create_app(make_settings(login_max_failures=2))
    logging.getLogger().addHandler(caplog.handler)
    client = await lifespan_client(app)
    for guess in ("first-guess-xyz", "second-guess-xyz"):
        await login(client, "admin", guess)
    assert "account admin locked" in caplog.text
    assert "guess-xyz" not in caplog.text
