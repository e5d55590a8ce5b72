from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.databases import make_database_url

ADMIN_PASSWORD = "unit-admin-password-42"
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Gateway settings on a fresh database; upstreams point nowhere unless given."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "gateway_database_url": make_database_url(tmp_path, "gateway"),
            "admin_password": ADMIN_PASSWORD,
            "extensions_url": UNREACHABLE,
            "licensing_url": UNREACHABLE,
            "aps_url": UNREACHABLE,
            "log_json": False,
            # Cheap hashing keeps the many logins of these tests fast; the e2e suite
            # runs the gateway with the real defaults.
            "password_hash_time_cost": 1,
            "password_hash_memory_kib": 1024,
            "password_hash_parallelism": 1,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def gateway(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await lifespan_client(create_app(make_settings()))
    return client
