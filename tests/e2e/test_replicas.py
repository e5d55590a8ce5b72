"""Two processes of every service against one PostgreSQL: the database keeps them honest.

Replica A and replica B are two complete sets of processes (gateway, extensions,
licensing, aps) sharing the four databases; they all start at once, so they also race
to migrate. Requests are spread over both sets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from tests.support.databases import make_database_url, postgres_admin_url
from tests.support.suite import MODULES, Suite

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not postgres_admin_url(),
        reason="needs PostgreSQL: set SHARELINE_TEST_POSTGRES_URL (as .ci/run does)",
    ),
]

PASSWORD = "Zr8mQ2vKx7LpW3nTa9Hc4Ys"
DESK = "001565000101"
# Phones fetch without credentials here: authentication is not what these tests are about.
EXTRA_ENV = {"SHARELINE_PROVISIONING_AUTH": "false"}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Suite, Suite]]:
    root = tmp_path_factory.mktemp("replicas")
    databases = {name: make_database_url(root, name) for name in MODULES}
    pair = (
        Suite(root / "a", extra_env=dict(EXTRA_ENV), database_urls=databases),
        Suite(root / "b", extra_env=dict(EXTRA_ENV), database_urls=databases),
    )
    # Replicas of one site share one public address (phone files carry it).
    for suite in pair:
        suite.extra_env["SHARELINE_PUBLIC_BASE_URL"] = pair[0].gateway
    try:
        for suite in pair:
            (suite.root / "data").mkdir(parents=True)
            for name in ("licensing", "extensions", "aps", "gateway"):
                suite.start(name, wait=False)
        for suite in pair:
            for name in MODULES:
                suite.wait_healthy(name, timeout=60)
        yield pair
    finally:
        for suite in pair:
            suite.stop_all()


@pytest.fixture(scope="module")
def admins(replicas: tuple[Suite, Suite]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    a, b = replicas
    with a.admin_client(timeout=60.0) as first, b.admin_client(timeout=60.0) as second:
        yield first, second


def _parallel(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _licensing(suite: Suite, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"X-Service-Token": suite.service_token("licensing", issuer="aps")}
    headers.update(kwargs.pop("headers", {}))
    return httpx.request(
        method, suite.url("licensing") + path, headers=headers, timeout=60.0, **kwargs
    )


def _softphone_pool(suite: Suite) -> dict[str, int]:
    headers = {"X-Service-Token": suite.service_token("licensing")}
    status = httpx.get(suite.url("licensing") + "/api/v1/license", headers=headers, timeout=30)
    assert status.status_code == 200, status.text
    return dict(status.json()["pools"]["softphones"])


def test_both_replica_sets_started_against_one_database(replicas) -> None:
    for suite in replicas:
        for name in MODULES:
            assert httpx.get(suite.url(name) + "/readyz", timeout=10).status_code == 200


def test_parallel_reservations_through_both_licensing_replicas_never_over_allocate(
    replicas,
) -> None:
    a, b = replicas
    pool = _softphone_pool(a)
    free = pool["capacity"] - pool["used"]
    holders = [f"softphone:race-{uuid.uuid4().hex[:8]}" for _ in range(free + 8)]

    def reserve(suite: Suite, holder: str) -> Callable[[], httpx.Response]:
        return lambda: _licensing(
            suite,
            "POST",
            "/internal/v1/reservations",
            json={"pool": "softphones", "holders": [holder]},
            headers={"Idempotency-Key": f"race-{holder}"},
        )

    answers = _parallel([reserve((a, b)[i % 2], h) for i, h in enumerate(holders)])
    try:
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] * free + [409] * (len(holders) - free), [
            r.text for r in answers if r.status_code not in (201, 409)
        ]
        for refused in (r for r in answers if r.status_code == 409):
            assert refused.json()["type"] == "urn:shareline:problem:pool-exhausted"
        for suite in (a, b):
            after = _softphone_pool(suite)
            assert after["used"] == after["capacity"]
    finally:
        _licensing(
            a, "POST", "/internal/v1/releases", json={"pool": "softphones", "holders": holders}
        )


def test_one_idempotency_key_through_both_replicas_makes_one_reservation(replicas) -> None:
    a, b = replicas
    before = _softphone_pool(a)["used"]
    body = {"pool": "softphones", "holders": [f"softphone:idem-{uuid.uuid4().hex[:8]}"]}
    key = {"Idempotency-Key": uuid.uuid4().hex}

    reserve = partial(_licensing, method="POST", path="/internal/v1/reservations", json=body)
    answers = _parallel([partial(reserve, s, headers=key) for s in (a, b, a, b)])
    try:
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["id"] for r in answers}) == 1
        assert _softphone_pool(b)["used"] == before + 1
    finally:
        _licensing(a, "POST", "/internal/v1/releases", json=body)


def _commit_everywhere(admins: tuple[httpx.Client, httpx.Client]) -> list[httpx.Response]:
    first, second = admins
    return _parallel([partial(c.post, "/api/v1/telephony/commits") for c in (first, second) * 2])


def test_parallel_telephony_commits_through_both_replicas_make_one_revision(admins) -> None:
    first, second = admins
    created = first.post(
        "/api/v1/extensions",
        json={
            "number": "100",
            "name": "Alice",
            "identity": {"full_name": "Alice Smith", "email": "alice@example.com"},
            "password": PASSWORD,
            "shared": {"enabled": True, "max_devices": 2},
        },
    )
    assert created.status_code == 201, created.text
    before = first.get("/api/v1/telephony/commits").json()["current_revision"] or 0

    answers = _commit_everywhere(admins)
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], [r.text for r in answers]
    revisions = {r.json()["revision"]["revision"] for r in answers}
    assert revisions == {before + 1}
    assert [r.json()["changed"] for r in answers if r.status_code == 200] == [False] * 3

    listed = second.get("/api/v1/telephony/commits").json()
    assert listed["current_revision"] == before + 1
    assert [i["revision"] for i in listed["items"]].count(before + 1) == 1
    name = "pjsip_shareline.conf"
    files = [c.get(f"/api/v1/telephony/commits/{before + 1}/files/{name}") for c in (first, second)]
    assert files[0].status_code == 200 and files[0].content == files[1].content


def test_a_device_gets_the_same_files_from_either_aps_replica(replicas, admins) -> None:
    a, b = replicas
    first, second = admins
    if first.get("/api/v1/telephony/commits").json()["current_revision"] is None:
        pytest.fail("needs the telephony commit of the previous test")
    device = {
        "id": DESK,
        "vendor": "yealink",
        "model": "T46U",
        "lines": [{"line": 1, "auth_name": "100"}],
        "keys": [],
    }
    assert first.post("/api/v1/aps/devices", json=device).status_code == 201
    commits = _parallel(
        [lambda: first.post("/api/v1/aps/commits"), lambda: second.post("/api/v1/aps/commits")]
    )
    assert all(r.status_code in (200, 201) for r in commits), [r.text for r in commits]

    # A replica notices a snapshot committed through another within
    # SHARELINE_SNAPSHOT_CHECK_SECONDS (1 s by default).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        fetched = [httpx.get(f"{s.gateway}/provision/{DESK}.cfg", timeout=30) for s in (a, b)]
        if len({r.headers.get("etag") for r in fetched}) == 1:
            break
        time.sleep(0.2)
    fetched += [httpx.get(f"{s.gateway}/provision/{DESK}.cfg", timeout=30) for s in (a, b)]
    assert {r.status_code for r in fetched} == {200}, [r.text for r in fetched]
    assert len({r.content for r in fetched}) == 1
    assert len({r.headers.get("etag") for r in fetched}) == 1
    assert b"100" in fetched[0].content
    again = httpx.get(
        f"{b.gateway}/provision/{DESK}.cfg",
        headers={"If-None-Match": fetched[0].headers["etag"]},
        timeout=30,
    )
    assert again.status_code == 304


def test_concurrent_creates_of_one_extension_through_both_replicas_make_one(admins) -> None:
    first, second = admins
    users = "/api/v1/license"
    before = first.get(users).json()["pools"]["users"]["used"]
    body = {
        "number": "200",
        "name": "Carol",
        "identity": {"full_name": "Carol White", "email": "carol@example.com"},
        "password": PASSWORD,
    }

    answers = _parallel(
        [partial(c.post, "/api/v1/extensions", json=body) for c in (first, second) * 2]
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [r.text for r in answers]
    assert first.get("/api/v1/extensions/200").status_code == 200
    assert second.get(users).json()["pools"]["users"]["used"] == before + 1
