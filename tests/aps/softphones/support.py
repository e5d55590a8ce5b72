"""Test helpers for softphones: a telephony document, fake peers over MockTransport,
devices created and APS-committed through the APS code itself, and a settable clock."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from services.aps.devices.credentials import Sealer, hash_password, new_password
from services.aps.devices.models import Device, DeviceLine
from services.aps.settings import Settings
from services.aps.snapshots.service import commit as aps_commit
from services.aps.softphones.vendor import SoftphoneVendor
from services.aps.telephony import read_committed
from services.aps.vendors.catalog import Catalog
from services.common.db import unit_of_work
from services.common.logs import JsonFormatter
from services.common.service_app import minter_for
from services.extensions.client import ExtensionsClient
from services.licensing.client import LicensingClient

PASSWORD = "Kq2mZ7vR4tL8nB3wY9pXc6"
SIP_HOST = "pbx.example.com"

TELEPHONY: dict[str, Any] = {
    "revision": 7,
    "content_hash": "c0ffee",
    "committed_at": "2026-11-26T08:00:00+00:00",
    "sip": {"host": SIP_HOST, "port": 5060, "transport": "udp"},
    "extensions": [
        {
            "number": "100",
            "name": "Alice",
            "full_name": "Alice Smith",
            "email": "alice@example.com",
            "password": PASSWORD,
            "slots": [
                {"auth_name": "100", "index": 1, "ring_mode": "ring", "tone": None},
                {"auth_name": "100_2", "index": 2, "ring_mode": "ring", "tone": None},
            ],
        },
        {
            "number": "101",
            "name": "Bob",
            "full_name": "Bob Jones",
            "email": None,
            "password": "Zx8cV7bN6mQ5wE4rT3yU2i",
            "slots": [
                {"auth_name": "101", "index": 1, "ring_mode": "ring", "tone": None},
                {"auth_name": "101_2", "index": 2, "ring_mode": "ring", "tone": None},
            ],
        },
    ],
}


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class FakeExtensions:
    """The extensions service's committed-telephony route, as the contract describes it."""

    document: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(TELEPHONY))
    down: bool = False
    calls: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.headers.get("X-Service-Token")
        assert request.url.path == "/internal/v1/telephony/committed"
        return httpx.Response(200, json=self.document)

    def client(self, settings: Settings) -> ExtensionsClient:
        http = httpx.Client(transport=httpx.MockTransport(self.handle), base_url="http://ext")
        return ExtensionsClient(
            "http://ext", minter_for(settings, "aps", "extensions"), http=http, retries=0
        )


@dataclass
class FakeLicensing:
    """The licensing routes a softphone uses: reserve, confirm, release."""

    capacity: int = 2
    down: bool = False
    held: dict[str, str] = field(default_factory=dict)  # holder -> reserved|confirmed
    reservations: dict[str, str] = field(default_factory=dict)  # id -> holder
    requests: list[tuple[str, str]] = field(default_factory=list)
    inventory: dict[str, Any] = field(default_factory=dict)  # owner -> last report

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        self.requests.append((request.method, path))
        body = json.loads(request.content) if request.content else {}
        if path.startswith("/internal/v1/inventory/") and request.method == "PUT":
            self.inventory[path.rsplit("/", 1)[1]] = body
            return httpx.Response(204)
        assert request.headers.get("Idempotency-Key")
        if path == "/internal/v1/reservations":
            return self._reserve(body)
        if path.endswith("/confirm"):
            holder = self.reservations[path.split("/")[-2]]
            self.held[holder] = "confirmed"
            return httpx.Response(200, json={"state": "confirmed"})
        if path == "/internal/v1/releases":
            released = sum(1 for h in body["holders"] if self.held.pop(h, None))
            return httpx.Response(200, json={"released": released})
        return httpx.Response(404, json={"type": "about:blank", "title": "no", "status": 404})

    def _reserve(self, body: dict[str, Any]) -> httpx.Response:
        new = [h for h in body["holders"] if h not in self.held]
        if len(self.held) + len(new) > self.capacity:
            return httpx.Response(
                409,
                json={
                    "type": "urn:shareline:problem:pool-exhausted",
                    "title": "License pool exhausted",
                    "status": 409,
                    "detail": f"the softphones pool has 0 of {self.capacity} free",
                    "pool": body["pool"],
                    "capacity": self.capacity,
                    "used": len(self.held),
                    "requested": len(new),
                },
            )
        reservation_id = f"r{len(self.reservations) + 1}"
        for holder in new:
            self.held[holder] = "reserved"
            self.reservations[reservation_id] = holder
        return httpx.Response(
            201,
            json={
                "id": reservation_id,
                "pool": body["pool"],
                "holders": body["holders"],
                "state": "reserved",
                "expires_at": "2026-11-26T09:00:00+00:00",
            },
        )

    def client(self, settings: Settings) -> LicensingClient:
        http = httpx.Client(transport=httpx.MockTransport(self.handle), base_url="http://lic")
        return LicensingClient(
            "http://lic", minter_for(settings, "aps", "licensing"), http=http, retries=0
        )


SEALER = Sealer.from_secret("tests-only-sealing-secret")


def add_device(
    engine: Engine,
    device_id: str,
    auth_name: str | None,
    vendor: str = "softphone",
    model: str = "linphone",
) -> str:
    password = new_password()
    with unit_of_work(engine) as session:
        session.add(
            Device(
                id=device_id,
                vendor=vendor,
                model=model,
                label="test",
                credential_hash=hash_password(password),
                credential_sealed=SEALER.seal(password),
            )
        )
        session.flush()
        if auth_name:
            session.add(DeviceLine(device_id=device_id, line=1, auth_name=auth_name))
    return device_id


def commit_aps(engine: Engine, settings: Settings, telephony: dict[str, Any]) -> None:
    """An APS commit through the APS code, with the softphone vendor in its catalog."""
    catalog = Catalog.builtin()
    catalog.add(SoftphoneVendor())
    with unit_of_work(engine) as session:
        aps_commit(session, read_committed(telephony), catalog, settings, SEALER, actor="test")


def rendered_logs(records: list[logging.LogRecord]) -> str:
    """Log records as the service writes them (JSON lines, extras included)."""
    formatter = JsonFormatter("aps")
    return "\n".join(formatter.format(r) for r in records)
