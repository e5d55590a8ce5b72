"""Licensing's internal API as an `httpx.MockTransport` handler, behind the real client.

Implements the contract the extensions service relies on: all-or-nothing reservations,
idempotency keys, confirm, release by holder, inventory reports; it can be switched off
(connection refused) to prove the saga fails closed.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PROBLEM = "urn:shareline:problem:"


@dataclass
class FakeLicensing:
    capacity: dict[str, int] = field(
        default_factory=lambda: {"users": 50, "shared_devices": 50, "softphones": 5}
    )
    down: bool = False
    confirm_down: bool = False  # reachable, but confirmations do not get through
    held: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"users": {}, "shared_devices": {}, "softphones": {}}
    )
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    inventories: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.MockTransport(self.handle), base_url="http://licensing.test"
        )

    def holders(self, pool: str, state: str | None = None) -> set[str]:
        return {h for h, s in self.held[pool].items() if state is None or s == state}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down or (self.confirm_down and request.url.path.endswith("/confirm")):
            raise httpx.ConnectError("connection refused", request=request)
        with self.lock:
            self.calls.append(f"{request.method} {request.url.path}")
            key = request.headers.get("Idempotency-Key")
            if key and key in self.answers:
                status, body = self.answers[key]
                return httpx.Response(status, json=body)
            status, body = self._route(request)
            if key and status < 500:
                self.answers[key] = (status, body)
            headers = {"content-type": "application/problem+json"} if status >= 400 else {}
            return httpx.Response(status, json=body, headers=headers)

    def _route(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if path == "/internal/v1/reservations":
            return self._reserve(body["pool"], body["holders"])
        if path.startswith("/internal/v1/reservations/") and path.endswith("/confirm"):
            return self._confirm(path.split("/")[4])
        if path == "/internal/v1/releases":
            pool = self.held[body["pool"]]
            released = sum(1 for h in body["holders"] if pool.pop(h, None) is not None)
            return 200, {"released": released}
        if path.startswith("/internal/v1/inventory/"):
            self.inventories.append(body)
            return 200, {}
        return 404, {"type": PROBLEM + "not-found", "title": "Not found", "status": 404}

    def _reserve(self, pool: str, holders: list[str]) -> tuple[int, dict[str, Any]]:
        new = [h for h in holders if h not in self.held[pool]]
        used = len(self.held[pool])
        if used + len(new) > self.capacity[pool]:
            return 409, {
                "type": PROBLEM + "pool-exhausted",
                "title": "License pool exhausted",
                "status": 409,
                "detail": f"the {pool} pool is full",
                "pool": pool,
                "capacity": self.capacity[pool],
                "used": used,
                "requested": len(new),
            }
        for holder in new:
            self.held[pool][holder] = "reserved"
        rid = uuid.uuid4().hex
        self.reservations[rid] = {"pool": pool, "holders": new}
        return 201, {
            "id": rid,
            "pool": pool,
            "holders": holders,
            "state": "reserved",
            "expires_at": "2099-01-01T00:00:00+00:00",
        }

    def _confirm(self, rid: str) -> tuple[int, dict[str, Any]]:
        reservation = self.reservations[rid]
        for holder in reservation["holders"]:
            if holder in self.held[reservation["pool"]]:
                self.held[reservation["pool"]][holder] = "confirmed"
        return 200, {"id": rid, "state": "confirmed"}
