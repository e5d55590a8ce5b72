"""Fixtures for the licensing tests: a vendor key pair, a movable clock, a running app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.service_tokens import issue
from services.licensing.app import create_app
from services.licensing.settings import Settings
from services.licensing.vendor_cli import issue_key, key_id, public_pem
from tests.support.databases import make_database_url

SECRET = "licensing-test-secret-0123456789abcdef01"
START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@dataclass
class Vendor:
    private_key: Ed25519PrivateKey

    @property
    def kid(self) -> str:
        return key_id(self.private_key)

    @property
    def public_pem(self) -> str:
        return public_pem(self.private_key)

    def key(self, system_id: str, *, now: datetime = START, **overrides: Any) -> str:
        terms: dict[str, Any] = {
            "users": 50,
            "shared_devices": 20,
            "softphones": 5,
            "days": 365,
            "customer": "Example GmbH",
        }
        terms.update(overrides)
        return issue_key(self.private_key, system_id=system_id, now=int(now.timestamp()), **terms)


class MovableClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def vendor() -> Vendor:
    return Vendor(Ed25519PrivateKey.generate())


def token(service: str = "gateway", user: str | None = "alice", role: str | None = "admin") -> str:
    return issue(SECRET, issuer=service, audience="licensing", user=user, role=role)


def headers(service: str = "gateway", user: str | None = "alice", **extra: str) -> dict[str, str]:
    return {"X-Service-Token": token(service, user), **extra}


@pytest.fixture
def make_settings(tmp_path: Path, vendor: Vendor) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "service_token_secret": SECRET,
            "licensing_database_url": make_database_url(tmp_path, "licensing"),
            "license_public_keys": {vendor.kid: vendor.public_pem},
            "license_reconcile_interval_seconds": 3600,
            "log_json": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class Licensing:
    """A licensing app under test: its HTTP client and its clock."""

    client: httpx.AsyncClient
    clock: MovableClock
    app: Any

    async def status(self) -> dict[str, Any]:
        response = await self.client.get("/api/v1/license", headers=headers())
        assert response.status_code == 200, response.text
        return response.json()

    async def install(self, key: str, user: str = "alice") -> httpx.Response:
        return await self.client.put(
            "/api/v1/license", json={"key": key}, headers=headers(user=user)
        )

    async def reserve(
        self, pool: str, holders: list[str], key: str, service: str = "extensions"
    ) -> httpx.Response:
        return await self.client.post(
            "/internal/v1/reservations",
            json={"pool": pool, "holders": holders},
            headers=headers(service, **{"Idempotency-Key": key}),
        )

    async def confirm(self, reservation_id: str, service: str = "extensions") -> httpx.Response:
        return await self.client.post(
            f"/internal/v1/reservations/{reservation_id}/confirm",
            headers=headers(service, **{"Idempotency-Key": "c-" + reservation_id}),
        )

    async def allocate(self, pool: str, holders: list[str], service: str = "extensions") -> None:
        reserved = await self.reserve(pool, holders, "k-" + ",".join(holders), service)
        assert reserved.status_code == 201, reserved.text
        confirmed = await self.confirm(reserved.json()["id"], service)
        assert confirmed.status_code == 200, confirmed.text

    async def release(self, pool: str, holders: list[str]) -> httpx.Response:
        return await self.client.post(
            "/internal/v1/releases",
            json={"pool": pool, "holders": holders},
            headers=headers("extensions", **{"Idempotency-Key": "r-" + ",".join(holders)}),
        )

    async def used(self, pool: str, *, cross_check: bool = True) -> int:
        """The pool's counter, after checking it matches the allocation rows it counts."""
        status = await self.status()
        if cross_check:
            rows = await self.client.get(
                "/api/v1/license/allocations", params={"pool": pool, "limit": 1}, headers=headers()
            )
            assert rows.json()["total"] == status["pools"][pool]["used"]
        return int(status["pools"][pool]["used"])


@pytest.fixture
async def licensing(lifespan_client, make_settings) -> Licensing:
    clock = MovableClock()
    app = create_app(make_settings())
    app.state.clock = clock
    client = await lifespan_client(app)
    return Licensing(client, clock, app)
