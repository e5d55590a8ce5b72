"""Test helpers for APS: a committed telephony document served over MockTransport
behind the real ExtensionsClient, service-token headers, phone-side helpers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.aps.settings import Settings
from services.common.service_app import minter_for
from services.common.service_tokens import issue
from services.common.settings import LOCAL_SERVICE_SECRET
from services.extensions.client import ExtensionsClient

SIP_HOST = "pbx.example.com"
PW100 = "Pw100aaaaaaaaaaaaaaaaaaaaa"
PW101 = "Pw101bbbbbbbbbbbbbbbbbbbbb"
SITE_USER = "provision"
SITE_PASSWORD = "site-wide-provisioning-secret"


def slot(auth_name: str, index: int, ring_mode: str = "ring", tone: int | None = None) -> dict:
    return {"auth_name": auth_name, "index": index, "ring_mode": ring_mode, "tone": tone}


def telephony_document() -> dict[str, Any]:
    """Extension 100 (Alice, 3 slots, 100_3 rings with tone 3) and 101 (Bob)."""
    return {
        "revision": 1,
        "content_hash": "h1",
        "committed_at": "2026-11-26T08:00:00+00:00",
        "sip": {"host": SIP_HOST, "port": 5060, "transport": "udp"},
        "extensions": [
            {
                "number": "100",
                "name": "Alice",
                "full_name": "Alice Smith",
                "email": "alice@example.com",
                "password": PW100,
                "slots": [slot("100", 1), slot("100_2", 2), slot("100_3", 3, "distinctive", 3)],
            },
            {
                "number": "101",
                "name": "Bob",
                "full_name": "Bob Jones",
                "email": None,
                "password": PW101,
                "slots": [slot("101", 1)],
            },
        ],
    }


@dataclass
class FakeExtensions:
    """The extensions service's internal API, as far as APS uses it."""

    document: dict[str, Any] = field(default_factory=telephony_document)
    registered: set[str] = field(default_factory=set)
    notified: list[tuple[list[str], str]] = field(default_factory=list)
    down: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("extensions is down", request=request)
        assert request.headers.get("X-Service-Token")
        if request.url.path == "/internal/v1/telephony/committed":
            # Like the real service: the hash follows the content.
            content = {k: v for k, v in self.document.items() if k != "content_hash"}
            digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
            return httpx.Response(200, json={**self.document, "content_hash": digest})
        if request.url.path == "/internal/v1/telephony/notify":
            body = json.loads(request.content)
            self.notified.append((body["endpoints"], body["event"]))
            known = {s["auth_name"] for e in self.document["extensions"] for s in e["slots"]}
            results = {
                e: (
                    "sent"
                    if e in self.registered
                    else "not-registered"
                    if e in known
                    else "unknown-endpoint"
                )
                for e in body["endpoints"]
            }
            return httpx.Response(200, json={"results": results})
        return httpx.Response(
            404,
            json={"type": "urn:shareline:problem:not-found", "title": "Not found", "status": 404},
        )

    def client(self, settings: Settings) -> ExtensionsClient:
        http = httpx.Client(
            transport=httpx.MockTransport(self.handler), base_url="http://extensions.test"
        )
        return ExtensionsClient(
            "http://extensions.test",
            minter_for(settings, "aps", "extensions"),
            http=http,
            retries=0,
        )

    def set_slots(self, number: str, slots: list[dict[str, Any]]) -> None:
        document = copy.deepcopy(self.document)
        for extension in document["extensions"]:
            if extension["number"] == number:
                extension["slots"] = slots
        document["revision"] += 1
        self.document = document

    def add_extension(self, number: str, name: str, password: str, max_devices: int = 1) -> None:
        document = copy.deepcopy(self.document)
        slots = [slot(number, 1)] + [slot(f"{number}_{k}", k) for k in range(2, max_devices + 1)]
        document["extensions"].append(
            {
                "number": number,
                "name": name,
                "full_name": name,
                "email": None,
                "password": password,
                "slots": slots,
            }
        )
        document["revision"] += 1
        self.document = document


def admin_headers(user: str = "admin") -> dict[str, str]:
    token = issue(LOCAL_SERVICE_SECRET, issuer="gateway", audience="aps", user=user, role="admin")
    return {"X-Service-Token": token}


def phone_headers(
    user: str | None = None,
    password: str | None = None,
    *,
    address: str = "192.0.2.10",
    user_agent: str = "",
    **extra: str,
) -> dict[str, str]:
    """What the gateway forwards for a phone: its token, the address, the phone's headers."""
    headers = {**admin_headers(), "X-Forwarded-For": address, "User-Agent": user_agent}
    if user is not None and password is not None:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {raw}"
    headers.update(extra)
    return headers


def site(address: str = "192.0.2.10", **extra: str) -> dict[str, str]:
    return phone_headers(SITE_USER, SITE_PASSWORD, address=address, **extra)
