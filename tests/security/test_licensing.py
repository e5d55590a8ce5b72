# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
"""SECURITY.md catalogue, "Licensing": pools, idempotency, lost replies, crashes, forged
keys and a database write lock, through the licensing app on a real database file.

The "licensing down or timing out" line runs through the extensions app, whose saga
calls licensing over HTTP (a MockTransport that refuses or times out).
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from tests.extensions.conftest import extension_body, make_api  # noqa: F401  (fixture)
from tests.extensions.fake_licensing import FakeLicensing
from tests.licensing.conftest import (  # noqa: F401  (fixtures)
    START,
    Licensing,
    Vendor,
    headers,
    licensing,
    make_settings,
    vendor,
)
from tests.support.databases import make_database_url, postgres_admin_url

PROBLEM = "application/problem+json"
TYPE = "urn:shareline:problem:"


async def test_fifty_parallel_requests_for_the_last_unit_grant_exactly_one(
    licensing: Licensing,
) -> None:
    capacity = (await licensing.status())["pools"]["users"]["capacity"]
    await licensing.allocate("users", [f"ext:{100 + n}" for n in range(capacity - 1)])
    answers = await asyncio.gather(
        *(licensing.reserve("users", [f"ext:{700 + n}"], f"last-{n}") for n in range(50))
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * 49
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["content-type"] == PROBLEM and "users" in refused.text
    assert await licensing.used("users") == capacity


async def test_same_idempotency_key_five_times_sequentially_is_one_allocation(
    licensing: Licensing,
) -> None:
    answers = [await licensing.reserve("users", ["ext:100"], "same-key") for _ in range(5)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await licensing.used("users") == 1


async def test_same_idempotency_key_five_times_concurrently_is_one_allocation(
    licensing: Licensing,
) -> None:
    answers = await asyncio.gather(
        *(licensing.reserve("users", ["ext:100"], "same-key") for _ in range(5))
    )
    granted = [a for a in answers if a.status_code == 201]
    assert granted and {a.json()["id"] for a in granted} == {granted[0].json()["id"]}
    assert all(a.status_code in (201, 409, 503) for a in answers)
    assert await licensing.used("users") == 1


async def test_a_lost_reply_is_answered_again_by_the_retry(licensing: Licensing) -> None:
    first = await licensing.reserve("shared_devices", ["slot:100_2"], "lost-reply")
    assert first.status_code == 201  # ... and the reply never reached the caller
    retry = await licensing.reserve("shared_devices", ["slot:100_2"], "lost-reply")
    assert retry.status_code == 201 and retry.json() == first.json()
    assert await licensing.used("shared_devices") == 1


async def test_crash_between_reserve_and_confirm_makes_the_pool_whole_after_the_lifetime(
    licensing: Licensing,
) -> None:
    before = await licensing.used("shared_devices")
    crashed = await licensing.reserve("shared_devices", ["slot:100_2", "slot:100_3"], "crash")
    assert crashed.status_code == 201
    assert await licensing.used("shared_devices") == before + 2
    lifetime = licensing.app.state.settings.license_reservation_lifetime_seconds
    licensing.clock.advance(seconds=lifetime + 1)
    report = await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert report.status_code == 200
    assert await licensing.used("shared_devices") == before


def _flip_one_bit(key: str) -> str:
    header, payload, signature = key.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{header}.{payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


BAD_KEYS = {
    "one-bit-changed": ("license-key-bad-signature", lambda v, s: _flip_one_bit(v.key(s))),
    "unknown-kid": (
        "license-key-unknown-kid",
        lambda v, s: Vendor(Ed25519PrivateKey.generate()).key(s),
    ),
    "other-system-id": ("license-key-wrong-system", lambda v, s: v.key("SL-AAAA-BBBB-CCCC-DDDD")),
    "expired": (
        "license-key-expired",
        lambda v, s: v.key(s, now=START - timedelta(days=40), days=30),
    ),
}


@pytest.mark.parametrize(("slug", "make"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
async def test_a_bad_license_key_is_rejected_and_the_old_one_stays(
    licensing: Licensing, vendor: Vendor, slug: str, make: Any
) -> None:
    system_id = (await licensing.status())["system_id"]
    assert (await licensing.install(vendor.key(system_id, users=40))).status_code == 200
    refused = await licensing.install(make(vendor, system_id))
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == TYPE + slug
    assert (await licensing.status())["pools"]["users"]["capacity"] == 40


class FlakyLicensing(FakeLicensing):
    """Licensing that refuses connections (`down`) or never answers in time."""

    timing_out: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.timing_out:
            raise httpx.ReadTimeout("licensing did not answer", request=request)
        return super().handle(request)


@pytest.fixture
def licensing_peer() -> FlakyLicensing:
    return FlakyLicensing()


@pytest.mark.parametrize("fault", ["down", "timing-out"])
async def test_licensing_down_or_timing_out_while_enabling_a_shared_slot_is_503(
    lifespan_client: Any, tmp_path: Path, licensing_peer: FlakyLicensing, fault: str
) -> None:
    from services.extensions.app import create_app
    from tests.extensions.conftest import admin_headers, ext_settings

    app = create_app(ext_settings(tmp_path), licensing_http=licensing_peer.client())
    api = await lifespan_client(app, headers=admin_headers())
    assert (await api.post("/api/v1/extensions", json=extension_body())).status_code == 201
    licensing_peer.down = fault == "down"
    licensing_peer.timing_out = fault == "timing-out"
    enabled = await api.patch(
        "/api/v1/extensions/100", json={"shared": {"enabled": True, "max_devices": 2}}
    )
    assert enabled.status_code == 503 and enabled.headers["content-type"] == PROBLEM
    slots = (await api.get("/api/v1/extensions/100/slots")).json()
    assert [s["auth_name"] for s in slots] == ["100"]
    assert licensing_peer.holders("shared_devices") == set()


@pytest.mark.skipif(postgres_admin_url() is not None, reason="SQLite's file lock")
async def test_another_connection_holding_the_write_lock_gives_a_bounded_503_and_no_write(
    licensing: Licensing,
) -> None:
    database = make_url(str(licensing.app.state.engine.url)).database
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        blocked = await licensing.reserve("users", ["ext:100"], "while-locked")
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.status_code == 503, blocked.text
    assert blocked.headers["content-type"] == PROBLEM
    assert blocked.headers["retry-after"] == "1"
    assert 1.0 < waited < 15.0, "it waited for the lock a bounded while, then gave up"
    assert await licensing.used("users") == 0, "never a partial write"
    again = await licensing.reserve("users", ["ext:100"], "while-locked")
    assert again.status_code == 201
    assert await licensing.used("users") == 1


@pytest.mark.skipif(postgres_admin_url() is None, reason="PostgreSQL's row and table locks")
async def test_another_connection_holding_a_lock_on_postgresql_gives_a_503_and_no_write(
    lifespan_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    import psycopg

    from services.licensing.app import create_app
    from tests.licensing.conftest import MovableClock

    url = make_database_url(tmp_path, "licensing-locked")
    # PostgreSQL waits for a lock forever unless told otherwise (docs/security.md).
    bounded = f"{url}?options=-c%20lock_timeout%3D1500"
    app = create_app(make_settings(licensing_database_url=bounded))
    app.state.clock = MovableClock()
    service = Licensing(await lifespan_client(app), app.state.clock, app)
    assert await service.used("users") == 0
    with psycopg.connect(url.replace("+psycopg", "")) as holder:
        holder.execute("LOCK TABLE lic_pool IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        blocked = await service.reserve("users", ["ext:100"], "while-locked")
        waited = time.monotonic() - started
        holder.rollback()
    assert blocked.status_code == 503, blocked.text
    assert blocked.headers["content-type"] == PROBLEM
    assert blocked.headers["retry-after"] == "1"
    assert waited < 10.0
    assert await service.used("users") == 0, "never a partial write"
    assert (await service.reserve("users", ["ext:100"], "while-locked")).status_code == 201
