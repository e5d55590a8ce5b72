"""Fixtures: the extensions app over ASGITransport, with licensing faked behind its client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.service_tokens import issue
from services.extensions.settings import Settings
from tests.extensions.fake_licensing import FakeLicensing
from tests.support.databases import make_database_url

SECRET = "extensions-unit-test-service-secret-0123456789"
STRONG = "Abcdefghij0123456789xyz"  # a valid admin-supplied SIP password

MakeApi = Callable[..., Awaitable[httpx.AsyncClient]]


def ext_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "extensions_database_url": make_database_url(tmp_path, "extensions"),
        "service_token_secret": SECRET,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


def admin_headers() -> dict[str, str]:
    return {
        "X-Service-Token": issue(
            SECRET, issuer="gateway", audience="extensions", user="alice-admin", role="admin"
        )
    }


@pytest.fixture
def licensing() -> FakeLicensing:
    return FakeLicensing()


@pytest.fixture
def make_api(lifespan_client: Any, tmp_path: Path, licensing: FakeLicensing) -> MakeApi:
    """Build an extensions app with settings overrides; returns a client acting as admin."""

    async def make(**overrides: Any) -> httpx.AsyncClient:
        # Imported here: the Asterisk tests share this folder and need none of it.
        from services.extensions.app import create_app

        app = create_app(ext_settings(tmp_path, **overrides), licensing_http=licensing.client())
        client: httpx.AsyncClient = await lifespan_client(app, headers=admin_headers())
        client.app = app  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
async def api(make_api: MakeApi) -> httpx.AsyncClient:
    return await make_api()


def extension_body(number: str = "100", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": number,
        "name": "Alice",
        "identity": {"full_name": "Alice Smith", "email": "alice@example.com"},
        "password": STRONG,
    }
    body.update(fields)
    return body
