"""Allocation limits against real processes: two licensing replicas on one database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from services.common.service_tokens import issue
from tests.support.databases import make_database_url
from tests.support.suite import REPO, free_port

pytestmark = pytest.mark.e2e

SECRET = "licensing-e2e-secret-0123456789abcdef0123"
LIFETIME_SECONDS = 1.0


@dataclass
class Replicas:
    """Licensing processes sharing one database, restartable by index."""

    root: Path
    database_url: str
    lifetime_seconds: float = 60.0
    ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
        env.update(
            {
                "SHARELINE_DATA_DIR": str(self.root),
                "SHARELINE_SERVICE_TOKEN_SECRET": SECRET,
                "SHARELINE_LICENSING_DATABASE_URL": self.database_url,
                "SHARELINE_LICENSE_TRIAL_USERS": "100",
                "SHARELINE_LICENSE_TRIAL_SHARED_DEVICES": "5",
                "SHARELINE_LICENSE_TRIAL_SOFTPHONES": "3",
                "SHARELINE_LICENSE_RESERVATION_LIFETIME_SECONDS": str(self.lifetime_seconds),
                "SHARELINE_LICENSE_RECONCILE_INTERVAL_SECONDS": "0.2",
                "SHARELINE_LOG_LEVEL": "WARNING",
            }
        )
        return env

    def start(self, index: int) -> None:
        log = (self.root / f"licensing-{index}.log").open("ab")
        self.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "services.licensing", "--port", str(self.ports[index])],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, index: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.procs[index].poll() is not None:
                raise RuntimeError((self.root / f"licensing-{index}.log").read_text()[-3000:])
            try:
                if httpx.get(self.url(index) + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"licensing {index} did not start")

    def stop(self, index: int, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(index)
        proc.send_signal(sig)
        proc.wait(timeout=10)


def headers(key: str | None = None, user: str | None = None) -> dict[str, str]:
    token = issue(SECRET, issuer="extensions", audience="licensing", user=user)
    return {"X-Service-Token": token, **({"Idempotency-Key": key} if key else {})}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("licensing-e2e")
    running = Replicas(root, make_database_url(root, "licensing"))
    running.start(0)
    running.wait_healthy(0)  # the first start creates the schema; then the second joins
    running.start(1)
    running.wait_healthy(1)
    try:
        yield running
    finally:
        for index in list(running.procs):
            running.stop(index)


def reserve(client: httpx.Client, pool: str, holders: list[str], key: str) -> httpx.Response:
    """Reserve as the published client does: a busy database is retried with the same key."""
    for _ in range(20):
        response = client.post(
            "/internal/v1/reservations",
            json={"pool": pool, "holders": holders},
            headers=headers(key),
        )
        if response.status_code != 503:
            return response
        time.sleep(0.05)
    return response


def pool_usage(replicas: Replicas, pool: str) -> dict:
    status = httpx.get(replicas.url(0) + "/api/v1/license", headers=headers()).json()
    listed = httpx.get(
        replicas.url(1) + "/api/v1/license/allocations",
        params={"pool": pool, "limit": 1},
        headers=headers(),
    ).json()
    assert listed["total"] == status["pools"][pool]["used"]  # counter matches the rows
    return status["pools"][pool]


def clients(replicas: Replicas) -> list[httpx.Client]:
    limits = httpx.Limits(max_connections=32)
    return [httpx.Client(base_url=replicas.url(i), timeout=60, limits=limits) for i in (0, 1)]


def test_thousand_parallel_reservations_on_two_replicas_grant_exactly_the_free_hundred(
    replicas: Replicas,
) -> None:
    pair = clients(replicas)
    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(
            pool.map(
                lambda i: reserve(pair[i % 2], "users", [f"ext:{1000 + i}"], f"thousand-{i}"),
                range(1000),
            )
        )
    codes = Counter(a.status_code for a in answers)
    assert codes[201] == 100, codes
    assert codes[409] == 900, codes
    assert {a.json()["type"] for a in answers if a.status_code == 409} == {
        "urn:shareline:problem:pool-exhausted"
    }
    usage = pool_usage(replicas, "users")
    assert (usage["used"], usage["capacity"], usage["over_limit"]) == (100, 100, False)
    granted = [h for a in answers if a.status_code == 201 for h in a.json()["holders"]]
    released = pair[0].post(
        "/internal/v1/releases", json={"pool": "users", "holders": granted}, headers=headers()
    )
    assert released.json() == {"released": 100}
    for client in pair:
        client.close()


def test_fifty_parallel_requests_for_the_last_unit_grant_exactly_one(replicas: Replicas) -> None:
    pair = clients(replicas)
    first = reserve(pair[0], "softphones", ["softphone:a", "softphone:b"], "last-unit-setup")
    assert first.status_code == 201
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(
            pool.map(
                lambda i: reserve(pair[i % 2], "softphones", [f"softphone:p{i}"], f"last-{i}"),
                range(50),
            )
        )
    codes = Counter(a.status_code for a in answers)
    assert (codes[201], codes[409]) == (1, 49), codes
    assert pool_usage(replicas, "softphones")["used"] == 3
    holders = ["softphone:a", "softphone:b"] + [f"softphone:p{i}" for i in range(50)]
    pair[1].post(
        "/internal/v1/releases", json={"pool": "softphones", "holders": holders}, headers=headers()
    )
    assert pool_usage(replicas, "softphones")["used"] == 0


def test_same_key_five_times_on_both_replicas_gives_one_allocation(replicas: Replicas) -> None:
    pair = clients(replicas)
    sequential = [reserve(pair[i % 2], "users", ["ext:7"], "same-seq") for i in range(5)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        concurrent = list(
            pool.map(lambda i: reserve(pair[i % 2], "users", ["ext:8"], "same-par"), range(5))
        )
    for answers in (sequential, concurrent):
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
    other = reserve(pair[1], "users", ["ext:9"], "same-seq")
    assert other.status_code == 422
    assert pool_usage(replicas, "users")["used"] == 2
    pair[0].post(
        "/internal/v1/releases",
        json={"pool": "users", "holders": ["ext:7", "ext:8"]},
        headers=headers(),
    )


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[Replicas]:
    """Two fresh replicas whose reservations live one second."""
    running = Replicas(tmp_path, make_database_url(tmp_path, "licensing"), LIFETIME_SECONDS)
    running.start(0)
    running.wait_healthy(0)
    running.start(1)
    running.wait_healthy(1)
    try:
        yield running
    finally:
        for index in list(running.procs):
            running.stop(index)


def test_crash_between_reserve_and_confirm_leaves_the_pool_whole(short_lived: Replicas) -> None:
    replicas = short_lived
    capacity = pool_usage(replicas, "shared_devices")["capacity"]
    holders = [f"slot:{100 + i}_2" for i in range(capacity)]
    with httpx.Client(base_url=replicas.url(0)) as client:
        assert reserve(client, "shared_devices", holders, "crashing").status_code == 201
    replicas.stop(0, signal.SIGKILL)  # the replica that took the reservation dies
    with httpx.Client(base_url=replicas.url(1)) as client:
        full = reserve(client, "shared_devices", ["slot:999_2"], "while-held")
        assert full.status_code == 409
        deadline = time.monotonic() + LIFETIME_SECONDS + 5
        while time.monotonic() < deadline and pool_usage_of(client, "shared_devices"):
            time.sleep(0.1)
        assert pool_usage_of(client, "shared_devices") == 0
        again = reserve(client, "shared_devices", holders, "after-crash")
        assert again.status_code == 201


def pool_usage_of(client: httpx.Client, pool: str) -> int:
    status = client.get("/api/v1/license", headers=headers()).json()
    return int(status["pools"][pool]["used"])


def test_secrets_stay_out_of_the_logs(replicas: Replicas) -> None:
    logs = "".join(p.read_text(errors="replace") for p in replicas.root.glob("*.log"))
    assert SECRET not in logs
    assert json.dumps(SECRET) not in logs
