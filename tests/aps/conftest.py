from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.aps.app import create_app
from services.aps.settings import Settings
from tests.aps.support import SITE_PASSWORD, SITE_USER, FakeExtensions, admin_headers
from tests.support.databases import make_database_url


@dataclass
class ApsHarness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    extensions: FakeExtensions

    async def create(
        self,
        mac: str,
        vendor: str,
        model: str,
        lines: list[tuple[int, str]],
        keys: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body = {
            "id": mac,
            "vendor": vendor,
            "model": model,
            "lines": [{"line": n, "auth_name": a} for n, a in lines],
            "keys": keys or [],
            **extra,
        }
        return await self.client.post("/api/v1/aps/devices", json=body)

    async def commit(self) -> dict[str, Any]:
        response = await self.client.post("/api/v1/aps/commits")
        assert response.status_code == 201, response.text
        return dict(response.json())

    def device_password(self, device_id: str) -> str:
        from services.aps.devices.models import Device
        from services.common.db import READ, unit_of_work

        with unit_of_work(self.app.state.engine, READ) as session:
            device = session.get(Device, device_id)
            assert device is not None
            return str(self.app.state.sealer.unseal(device.credential_sealed))


def aps_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "aps_database_url": make_database_url(tmp_path, "aps"),
        "public_base_url": "http://prov.example.com:8000",
        "provisioning_user": SITE_USER,
        "provisioning_password": SITE_PASSWORD,
        "resync_batch_pause_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_aps(
    tmp_path: Path, lifespan_client: Callable[..., Awaitable[httpx.AsyncClient]]
) -> Callable[..., Awaitable[ApsHarness]]:
    async def make(**overrides: Any) -> ApsHarness:
        settings = aps_settings(tmp_path, **overrides)
        extensions = FakeExtensions()
        app = create_app(settings, extensions=extensions.client(settings))
        client = await lifespan_client(app, headers=admin_headers())
        return ApsHarness(app, client, settings, extensions)

    return make


@pytest.fixture
async def aps(make_aps: Callable[..., Awaitable[ApsHarness]]) -> AsyncIterator[ApsHarness]:
    yield await make_aps()
