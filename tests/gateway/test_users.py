"""Administrator accounts through the gateway's own API (ASGI, real database)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from gateway.users.bootstrap import BootstrapError
from services.common.db import create_db_engine
from services.common.migrations import upgrade_to_head
from tests.gateway.conftest import ADMIN_PASSWORD
from tests.gateway.helpers import add_user, bearer, login

PROBLEM = "application/problem+json"


async def test_first_admin_comes_from_the_configured_password(gateway: httpx.AsyncClient) -> None:
    assert (await login(gateway, "admin", ADMIN_PASSWORD)).status_code == 200
    listed = await gateway.get(
        "/api/v1/users", headers=await bearer(gateway, "admin", ADMIN_PASSWORD)
    )
    assert [(u["username"], u["role"]) for u in listed.json()] == [("admin", "admin")]
    assert "password" not in str(listed.json()).replace("password_", "")


async def test_token_response_has_the_oauth2_shape(gateway: httpx.AsyncClient) -> None:
    response = await login(gateway, "admin", ADMIN_PASSWORD)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"


async def test_generated_first_password_is_logged_once_and_works(
    lifespan_client: Any, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(admin_password=None)
    app = create_app(settings)
    logging.getLogger().addHandler(caplog.handler)  # build_app replaced the root handlers
    with caplog.at_level(logging.WARNING, logger="shareline.gateway.bootstrap"):
        client = await lifespan_client(app)
    warnings = [r for r in caplog.records if r.name == "shareline.gateway.bootstrap"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    password = str(warnings[0].args[1])  # type: ignore[index]
    assert len(password) >= 20
    assert (await login(client, "admin", password)).status_code == 200

    caplog.clear()
    app = create_app(settings)
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="shareline.gateway.bootstrap"):
        again = await lifespan_client(app)
    assert not [r for r in caplog.records if r.name == "shareline.gateway.bootstrap"]
    assert (await login(again, "admin", password)).status_code == 200


async def test_production_refuses_to_start_without_any_admin_or_password(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        mode="production",
        admin_password=None,
        service_token_secret="s" * 40,
        admin_token_secret="a" * 40,
    )
    engine = create_db_engine(settings.database_url)
    upgrade_to_head(engine, "gateway")  # production mode migrates nothing itself
    engine.dispose()
    app = create_app(settings)
    with pytest.raises(BootstrapError, match="SHARELINE_ADMIN_PASSWORD"):
        await app.router.lifespan_context(app).__aenter__()


@pytest.mark.parametrize(
    "secret", [None, "short-secret", "local-development-admin-token-secret-change-me"]
)
def test_settings_refuse_a_default_or_weak_token_secret_outside_local_mode(secret) -> None:
    extra = {} if secret is None else {"admin_token_secret": secret}
    with pytest.raises(ValueError, match="SHARELINE_ADMIN_TOKEN_SECRET"):
        Settings(mode="production", service_token_secret="s" * 40, **extra)


def test_settings_refuse_the_service_secret_as_admin_token_secret() -> None:
    with pytest.raises(ValueError, match="must differ"):
        Settings(service_token_secret="x" * 40, admin_token_secret="x" * 40)


async def test_admin_creates_lists_changes_and_deletes_accounts(gateway: httpx.AsyncClient) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    created = await gateway.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "olga", "password": "olga-password-123", "role": "operator"},
    )
    assert created.status_code == 201
    assert created.json()["role"] == "operator"
    assert "password_hash" not in created.json()
    assert (await gateway.get("/api/v1/users/olga", headers=admin)).json()["role"] == "operator"

    patched = await gateway.patch("/api/v1/users/olga", headers=admin, json={"role": "viewer"})
    assert patched.status_code == 200 and patched.json()["role"] == "viewer"

    assert (await gateway.delete("/api/v1/users/olga", headers=admin)).status_code == 204
    missing = await gateway.get("/api/v1/users/olga", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:shareline:problem:user-not-found"


async def test_duplicate_username_is_409_and_changes_nothing(gateway: httpx.AsyncClient) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    await add_user(gateway, admin, "dup", "viewer")
    again = await gateway.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "dup", "password": "another-password-1", "role": "admin"},
    )
    assert again.status_code == 409
    assert again.json()["type"] == "urn:shareline:problem:username-taken"
    assert (await gateway.get("/api/v1/users/dup", headers=admin)).json()["role"] == "viewer"
    assert (await login(gateway, "dup", "another-password-1")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "Upper", "password": "long-enough-password", "role": "viewer"},
        {"username": "x", "password": "long-enough-password", "role": "viewer"},
        {"username": "ok.name", "password": "short", "role": "viewer"},
        {"username": "ok.name", "password": "has\nnewline-inside", "role": "viewer"},
        {"username": "ok.name", "password": "p" * 129, "role": "viewer"},
        {"username": "ok.name", "password": "long-enough-password", "role": "root"},
        {"username": "ok.name", "password": "long-enough-password", "extra": 1},
    ],
)
async def test_bad_account_input_is_a_422_problem_without_the_password(
    gateway: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    response = await gateway.post("/api/v1/users", headers=admin, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert body["password"] not in response.text
    assert len((await gateway.get("/api/v1/users", headers=admin)).json()) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "eve", "password": "eve-password-123"}),
        ("GET", "/api/v1/users/admin", None),
        ("PATCH", "/api/v1/users/admin", {"disabled": True}),
        ("DELETE", "/api/v1/users/admin", None),
    ],
)
@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_only_admins_manage_accounts(
    gateway: httpx.AsyncClient, role: str, method: str, path: str, body: Any
) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    caller = await add_user(gateway, admin, "someone", role)
    response = await gateway.request(method, path, headers=caller, json=body)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:shareline:problem:insufficient-role"
    assert [u["username"] for u in (await gateway.get("/api/v1/users", headers=admin)).json()] == [
        "admin",
        "someone",
    ]
    assert (await login(gateway, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_anyone_changes_their_own_password_with_the_current_one(
    gateway: httpx.AsyncClient,
) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    viewer = await add_user(gateway, admin, "vic", "viewer")
    assert (await gateway.get("/api/v1/users/vic", headers=viewer)).status_code == 200

    wrong = await gateway.put(
        "/api/v1/users/vic",
        headers=viewer,
        json={"current_password": "not-my-password", "password": "vic-new-password-1"},
    )
    assert wrong.status_code == 403
    assert (await login(gateway, "vic", "vic-new-password-1")).status_code == 401

    changed = await gateway.put(
        "/api/v1/users/vic",
        headers=viewer,
        json={"current_password": "vic-password-123", "password": "vic-new-password-1"},
    )
    assert changed.status_code == 200
    assert (await login(gateway, "vic", "vic-new-password-1")).status_code == 200
    assert (await login(gateway, "vic", "vic-password-123")).status_code == 401

    promote = await gateway.patch("/api/v1/users/vic", headers=viewer, json={"role": "admin"})
    assert promote.status_code in (401, 403)  # the old token died with the old password


async def test_a_viewer_cannot_promote_themself(gateway: httpx.AsyncClient) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    viewer = await add_user(gateway, admin, "vic", "viewer")
    response = await gateway.patch("/api/v1/users/vic", headers=viewer, json={"role": "admin"})
    assert response.status_code == 403
    assert (await gateway.get("/api/v1/users/vic", headers=admin)).json()["role"] == "viewer"


async def test_admin_changes_own_password_with_put(gateway: httpx.AsyncClient) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    response = await gateway.put(
        "/api/v1/users/admin",
        headers=admin,
        json={"current_password": ADMIN_PASSWORD, "password": "brand-new-admin-secret"},
    )
    assert response.status_code == 200
    assert (await login(gateway, "admin", "brand-new-admin-secret")).status_code == 200
    assert (await login(gateway, "admin", ADMIN_PASSWORD)).status_code == 401


async def test_the_last_enabled_admin_cannot_be_removed_demoted_or_disabled(
    gateway: httpx.AsyncClient,
) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    for method, body in (
        ("PATCH", {"role": "viewer"}),
        ("PATCH", {"disabled": True}),
        ("DELETE", None),
    ):
        response = await gateway.request(method, "/api/v1/users/admin", headers=admin, json=body)
        assert response.status_code == 409
        assert response.json()["type"] == "urn:shareline:problem:last-admin"
    assert (await gateway.get("/api/v1/users/admin", headers=admin)).json()["role"] == "admin"

    await add_user(gateway, admin, "second", "admin")
    assert (
        await gateway.patch("/api/v1/users/admin", headers=admin, json={"role": "viewer"})
    ).status_code == 200


async def test_disabling_or_deleting_an_account_ends_its_tokens_at_once(
    gateway: httpx.AsyncClient,
) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    olga = await add_user(gateway, admin, "olga", "operator")
    assert (await gateway.get("/api/v1/users/olga", headers=olga)).status_code == 200
    await gateway.patch("/api/v1/users/olga", headers=admin, json={"disabled": True})
    refused = await gateway.get("/api/v1/users/olga", headers=olga)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert (await login(gateway, "olga", "olga-password-123")).status_code == 401


async def test_a_role_change_applies_to_tokens_already_issued(gateway: httpx.AsyncClient) -> None:
    admin = await bearer(gateway, "admin", ADMIN_PASSWORD)
    boss = await add_user(gateway, admin, "boss", "admin")
    assert (await gateway.get("/api/v1/users", headers=boss)).status_code == 200
    await gateway.patch("/api/v1/users/boss", headers=admin, json={"role": "viewer"})
    assert (await gateway.get("/api/v1/users", headers=boss)).status_code == 403


async def test_an_admin_reset_of_a_password_ends_earlier_tokens(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    app = create_app(settings)
    client = await lifespan_client(app)
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    await add_user(client, admin, "olga", "operator")
    earlier = await bearer(client, "olga", "olga-password-123")  # this very second
    assert (await client.get("/api/v1/users/olga", headers=earlier)).status_code == 200
    await client.put("/api/v1/users/olga", headers=admin, json={"password": "reset-by-admin-1"})
    assert (await client.get("/api/v1/users/olga", headers=earlier)).status_code == 401
