"""Through the gateway with real processes: DESIGN's use cases end to end.

Extension 100 (Alice) and 101 (Bob) are created, shared, committed step by step; every
revision's files are fetched through the gateway and compared with golden files, then
parsed back with the strict Asterisk-syntax reader. Passwords are fixed so the output
is stable. `SHARELINE_UPDATE_GOLDEN=1` rewrites tests/extensions/golden/ (review the diff).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.asterisk_conf import (
    by_type,
    parse_callerid,
    parse_config,
    parse_dialplan,
    pjsip_duplicates,
)
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).parent / "golden"
FILES = ("extensions_shareline.conf", "pjsip_shareline.conf", "queues_shareline.conf")
PASSWORD_100 = "Qm7vT2xKp9LrW4nZa8Hc3Ys"
PASSWORD_101 = "Bd4kN8wPq2ZtR6mXy9Lf5Jh"
ALICE = {
    "number": "100",
    "name": "Alice Martin",
    "identity": {"full_name": "Alice Martin", "email": "alice@example.com"},
    "password": PASSWORD_100,
    "shared": {"enabled": True, "max_devices": 2},
    "no_answer": {"voicemail": True, "ring_seconds": 25},
}
BOB = {
    "number": "101",
    "name": "Bob Keller",
    "identity": {"full_name": "Bob Keller"},
    "password": PASSWORD_101,
}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = Suite(tmp_path_factory.mktemp("ext-e2e"))
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with suite.admin_client() as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def commit_and_fetch(gateway: httpx.Client) -> dict[str, bytes]:
    revision = ok(gateway.post("/api/v1/telephony/commits"), 201)["revision"]["revision"]
    files = {}
    for name in FILES:
        response = gateway.get(f"/api/v1/telephony/commits/{revision}/files/{name}")
        assert response.status_code == 200, response.text
        files[name] = response.content
    return files


def matches_golden(case: str, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = GOLDEN / case / name
        if os.environ.get("SHARELINE_UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        assert data == path.read_bytes(), f"{case}/{name} differs from the golden file"


def parse_back(files: dict[str, bytes]) -> tuple[dict, set[str]]:
    pjsip = parse_config(files["pjsip_shareline.conf"].decode(), allow_duplicate=pjsip_duplicates)
    plan = parse_dialplan(parse_config(files["extensions_shareline.conf"].decode()))
    parse_config(files["queues_shareline.conf"].decode())
    return by_type(pjsip, "endpoint"), plan.extensions("shareline")


def test_use_cases_through_the_gateway(gateway: httpx.Client) -> None:
    # 1. A softphone joins a desk phone: 100 gets a second slot.
    ok(gateway.post("/api/v1/extensions", json=ALICE), 201)
    uc1 = commit_and_fetch(gateway)
    matches_golden("uc1", uc1)
    endpoints, dialable = parse_back(uc1)
    assert set(endpoints) == {"100", "100_2"}
    assert "100" in dialable and "100_2" not in dialable
    assert {parse_callerid(e.get("callerid") or "") for e in endpoints.values()} == {
        ("Alice Martin", "100")
    }

    # 2. A colleague's phone backs up 100: extension 101 exists too.
    ok(gateway.post("/api/v1/extensions", json=BOB), 201)
    uc2 = commit_and_fetch(gateway)
    matches_golden("uc2", uc2)
    endpoints, dialable = parse_back(uc2)
    assert set(endpoints) == {"100", "100_2", "101"}
    assert {"100", "101"} <= dialable and "100_2" not in dialable

    # 3. Three devices on 100; the DECT handset rings with tone 2; 100 is a queue agent.
    slots = ok(gateway.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 3}}))
    assert [s["auth_name"] for s in slots["slots"]] == ["100", "100_2", "100_3"]
    ok(
        gateway.patch(
            "/api/v1/extensions/100/slots/100_3", json={"ring_mode": "distinctive", "tone": 2}
        )
    )
    ok(gateway.post("/api/v1/queues", json={"name": "support", "number": "600"}), 201)
    ok(gateway.post("/api/v1/queues/support/agents", json={"extension": "100", "slot": "100"}), 201)
    uc3 = commit_and_fetch(gateway)
    matches_golden("uc3", uc3)
    endpoints, dialable = parse_back(uc3)
    assert set(endpoints) == {"100", "100_2", "100_3", "101"}
    assert {"100", "101", "600"} <= dialable
    assert not dialable & {"100_2", "100_3"}

    # Nothing pending: a second commit changes nothing and reloads nothing.
    again = ok(gateway.post("/api/v1/telephony/commits"))
    assert again["changed"] is False and again["revision"]["revision"] == 3


def test_agent_login_from_a_secondary_slot_is_refused_through_the_gateway(
    gateway: httpx.Client,
) -> None:
    if gateway.get("/api/v1/extensions/100").status_code == 404:
        ok(gateway.post("/api/v1/extensions", json=ALICE), 201)
    if gateway.get("/api/v1/queues/support").status_code == 404:
        ok(gateway.post("/api/v1/queues", json={"name": "support", "number": "600"}), 201)
    before = ok(gateway.get("/api/v1/queues/support/agents"))
    refused = gateway.post(
        "/api/v1/queues/support/agents", json={"extension": "100", "slot": "100_2"}
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:shareline:problem:agent-login-secondary-slot"
    assert ok(gateway.get("/api/v1/queues/support/agents")) == before


def test_licenses_follow_the_slots(gateway: httpx.Client) -> None:
    ok(gateway.post("/api/v1/extensions", json={**BOB, "number": "102"}), 201)
    ok(
        gateway.patch(
            "/api/v1/extensions/102", json={"shared": {"enabled": True, "max_devices": 2}}
        )
    )
    held = allocations(gateway)
    assert ("users", "ext:102", "confirmed") in held
    assert ("shared_devices", "slot:102_2", "confirmed") in held
    assert not any(holder == "slot:102" for _pool, holder, _state in held)
    assert gateway.delete("/api/v1/extensions/102").status_code == 204
    held = allocations(gateway)
    assert not any(holder in ("ext:102", "slot:102_2") for _pool, holder, _state in held)


def allocations(gateway: httpx.Client) -> set[tuple[str, str, str]]:
    body = ok(gateway.get("/api/v1/license/allocations", params={"limit": 500}))
    return {(a["pool"], a["holder"], a["state"]) for a in body["items"]}


def test_no_sip_password_reaches_any_log(suite: Suite, gateway: httpx.Client) -> None:
    if gateway.get("/api/v1/extensions/100").status_code == 404:
        ok(gateway.post("/api/v1/extensions", json=ALICE), 201)
    weak = gateway.post(
        "/api/v1/extensions", json={**BOB, "number": "103", "password": "Leaky;Password0123456789"}
    )
    assert weak.status_code == 422 and "Leaky" not in weak.text
    ok(gateway.get("/api/v1/extensions/100/credentials"))
    logs = suite.logs()
    assert "/api/v1/extensions/100/credentials" in logs  # the access log was written
    for secret in (PASSWORD_100, PASSWORD_101, "Leaky;Password"):
        assert secret not in logs
