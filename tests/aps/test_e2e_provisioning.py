"""Through the gateway with real processes: extensions, telephony commit, devices, APS
commit, and the files fetched as the phones fetch them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.aps.parsers import parse
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

SITE = ("provision", "e2e-site-provisioning-password")
PW100 = "Qm7vT2xKp9LrW4nZa8Hc3Ys"
PW101 = "Bd4kN8wPq2ZtR6mXy9Lf5Jh"
DESK, COLLEAGUE, DECT = "001565e2e001", "0004f2e2e002", "0c3800e2e003"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = Suite(
        tmp_path_factory.mktemp("aps-e2e"),
        extra_env={
            "SHARELINE_PROVISIONING_USER": SITE[0],
            "SHARELINE_PROVISIONING_PASSWORD": SITE[1],
            "SHARELINE_SIP_HOST": "pbx.example.com",
        },
    )
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def admin(suite: Suite) -> Iterator[httpx.Client]:
    with suite.admin_client() as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def committed(admin: httpx.Client) -> dict:
    ok(
        admin.post(
            "/api/v1/extensions",
            json={
                "number": "100",
                "name": "Alice",
                "password": PW100,
                "identity": {"full_name": "Alice Martin", "email": "alice@example.com"},
                "shared": {"enabled": True, "max_devices": 3},
            },
        ),
        201,
    )
    ok(
        admin.post(
            "/api/v1/extensions",
            json={
                "number": "101",
                "name": "Bob",
                "password": PW101,
                "identity": {"full_name": "Bob Keller"},
            },
        ),
        201,
    )
    ok(admin.post("/api/v1/telephony/commits"), 201)
    for body in (
        {
            "id": "00:15:65:E2:E0:01",
            "vendor": "yealink",
            "model": "T46U",
            "lines": [{"line": 1, "auth_name": "100"}],
        },
        {
            "id": "0004.f2e2.e002",
            "vendor": "poly",
            "model": "VVX450",
            "lines": [{"line": 1, "auth_name": "101"}, {"line": 2, "auth_name": "100_2"}],
            "keys": [{"key": 3, "type": "blf", "extension": "100", "label": "Alice"}],
        },
        {
            "id": "0C-38-00-E2-E0-03",
            "vendor": "fanvil",
            "model": "X4",
            "lines": [{"line": 1, "auth_name": "100_3"}],
        },
    ):
        ok(admin.post("/api/v1/aps/devices", json=body), 201)
    changes = ok(admin.get("/api/v1/aps/changes"))
    assert sorted(changes["changed"]) == sorted([DESK, COLLEAGUE, DECT])
    return ok(admin.post("/api/v1/aps/commits"), 201)


def phone(suite: Suite, name: str, auth: tuple[str, str] | None, **headers: str) -> httpx.Response:
    return httpx.get(f"{suite.gateway}/provision/{name}", auth=auth, headers=headers)


def test_the_three_use_cases_reach_the_phones(suite: Suite, committed: dict) -> None:
    assert committed["devices_rendered"] == 3 and committed["missing_lines"] == []
    desk = parse("yealink", phone(suite, f"{DESK}.cfg", SITE).text)
    assert desk.lines[1]["auth"] == "100" and desk.lines[1]["password"] == PW100
    assert desk.lines[1]["server"] == "pbx.example.com"
    colleague = parse("poly", phone(suite, f"{COLLEAGUE}-user.cfg", SITE).text)
    assert {n: (v["user"], v["auth"], v["password"]) for n, v in colleague.lines.items()} == {
        1: ("101", "101", PW101),
        2: ("100", "100_2", PW100),
    }
    assert colleague.blf == ["100"]
    dect = parse("fanvil", phone(suite, f"{DECT}.cfg", SITE).text)
    assert (dect.lines[1]["user"], dect.lines[1]["auth"]) == ("100", "100_3")


def test_enrolment_etag_and_fetch_status_through_the_gateway(
    suite: Suite, admin: httpx.Client, committed: dict
) -> None:
    first = phone(suite, f"{DESK}.cfg", SITE, **{"User-Agent": "Yealink SIP-T46U 108.86.0.20"})
    own = re.search(r"static.auto_provision.server.password = (\S+)", first.text)
    assert own is not None
    mine = (DESK, own.group(1))
    again = phone(suite, f"{DESK}.cfg", mine, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert phone(suite, f"{DESK}.cfg", SITE).status_code == 401
    stranger = phone(suite, f"{COLLEAGUE}-user.cfg", mine)
    unknown = phone(suite, "001565e2e0ff.cfg", SITE)
    assert stranger.status_code == unknown.status_code == 401
    assert stranger.content == unknown.content
    assert stranger.headers["www-authenticate"] == 'Basic realm="shareline"'
    device = ok(admin.get(f"/api/v1/aps/devices/{DESK}"))
    assert device["enrolled_at"] is not None
    assert device["last_fetch"]["address"] == "127.0.0.1"
    assert device["last_fetch"]["current"] is True
    assert device["last_fetch"]["revision"] == committed["revision"]


def test_bad_names_and_resync_without_asterisk(
    suite: Suite, admin: httpx.Client, committed: dict
) -> None:
    assert phone(suite, "%2e%2e%2fetc%2fpasswd", SITE).status_code in (400, 404)
    assert phone(suite, "0015650000010.cfg", SITE).status_code == 404
    report = ok(admin.post("/api/v1/aps/resync", json={"reboot": False}))
    statuses = {d["device"]: d for d in report["devices"]}
    assert set(statuses) == {DESK, COLLEAGUE, DECT}
    assert statuses[COLLEAGUE]["endpoints"] == {"101": "skipped", "100_2": "skipped"}
    assert statuses[COLLEAGUE]["event"] == "check-sync"
