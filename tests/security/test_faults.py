"""Fault injection against real processes: SIGKILL mid-operation, a held write lock.

One suite of four processes serves the module, loaded with a workload (150 extensions
with three slots, a desk phone for each) so that every commit changes many files. Each
kill lands inside the operation deterministically: the test watches, in a tight loop, for
the first trace of the work (a staged revision file, the APS database's write-ahead log
growing, a reservation row in licensing) and sends SIGKILL at once.
After each restart the invariants of SECURITY.md hold: one whole revision live, every
phone on one snapshot, pools equal to what exists once reconciled.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import postgres_admin_url
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e
sqlite_only = pytest.mark.skipif(
    postgres_admin_url() is not None, reason="watches the SQLite files the services write"
)

WORKLOAD = 150  # extensions, three slots each, one desk phone each
STRONG = "Faultinjection0123456789"
IDENTITY = {"full_name": "Fault Tester", "email": "fault@example.com"}


class Running:
    """The suite plus direct, service-token clients for the services under test."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite

    def client(self, service: str, timeout: float = 60.0) -> httpx.Client:
        token = self.suite.service_token(service, user="fault-tester", role="admin")
        return httpx.Client(
            base_url=self.suite.url(service),
            headers={"X-Service-Token": token},
            timeout=timeout,
        )

    @property
    def data(self) -> Path:
        return self.suite.root / "data"

    def db(self, service: str) -> Path:
        return self.data / f"{service}.db"

    def restart(self, service: str) -> None:
        self.suite.start(service)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    suite = Suite(
        tmp_path_factory.mktemp("faults"),
        extra_env={
            "SHARELINE_LICENSE_TRIAL_USERS": "1000",
            "SHARELINE_LICENSE_TRIAL_SHARED_DEVICES": "2000",
            "SHARELINE_LICENSE_RESERVATION_LIFETIME_SECONDS": "2",
            "SHARELINE_PROVISIONING_AUTH": "false",
        },
    )
    suite.start_all()
    try:
        running = Running(suite)
        _load_workload(running)
        yield running
    finally:
        suite.stop_all()


def _number(n: int) -> str:
    return str(1000 + n)


def _mac(n: int) -> str:
    return f"0015650{n:05x}"


def _load_workload(running: Running) -> None:
    with running.client("extensions") as ext, running.client("aps") as aps:
        for n in range(WORKLOAD):
            body = {
                "number": _number(n),
                "name": "Before",
                "identity": IDENTITY,
                "password": STRONG,
                "shared": {"enabled": True, "max_devices": 3},
            }
            created = ext.post("/api/v1/extensions", json=body)
            assert created.status_code == 201, created.text
        assert ext.post("/api/v1/telephony/commits").status_code == 201
        for n in range(WORKLOAD):
            lines = [{"line": k, "auth_name": a} for k, a in _slots(n)]
            device = {"id": _mac(n), "vendor": "yealink", "model": "T46U", "lines": lines}
            assert aps.post("/api/v1/aps/devices", json=device).status_code == 201
        assert aps.post("/api/v1/aps/commits").status_code == 201


def _slots(n: int) -> list[tuple[int, str]]:
    number = _number(n)
    return [(1, number), (2, f"{number}_2"), (3, f"{number}_3")]


def _rename_all(running: Running, name: str) -> None:
    with running.client("extensions") as ext:
        for n in range(WORKLOAD):
            changed = ext.patch(f"/api/v1/extensions/{_number(n)}", json={"name": name})
            assert changed.status_code == 200, changed.text


def _kill_when(running: Running, service: str, path: str, started: Callable[[], bool]) -> bool:
    """POST `path` and SIGKILL `service` as soon as `started()` says the work is under way.

    Returns whether the kill cut the request off (it never answered).
    """
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            with running.client(service) as client:
                outcome["status"] = client.post(path).status_code
        except httpx.TransportError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 30
    while not started() and worker.is_alive() and time.monotonic() < deadline:
        pass  # a tight loop: the window is milliseconds wide
    os.kill(running.suite.procs[service].pid, signal.SIGKILL)
    running.suite.kill(service)
    worker.join(timeout=30)
    return "error" in outcome


def _wal_grew(database: Path) -> Callable[[], bool]:
    wal = database.with_name(database.name + "-wal")
    before = wal.stat().st_mtime_ns if wal.exists() else 0
    return lambda: wal.exists() and wal.stat().st_mtime_ns != before


def _staging(running: Running) -> Callable[[], bool]:
    revisions = running.data / "asterisk" / "revisions"
    return lambda: any(
        entry.name.startswith(".staging-") and any(os.scandir(entry.path))
        for entry in os.scandir(revisions)
    )


def _live_files(running: Running) -> dict[str, bytes]:
    live = running.data / "asterisk" / "live"
    return {p.name: p.read_bytes() for p in sorted(live.iterdir())}


def _revision_files(running: Running, rev: int) -> dict[str, bytes]:
    with running.client("extensions") as ext:
        listed = ext.get(f"/api/v1/telephony/commits/{rev}").json()
        names = sorted(f["name"] for f in listed["files"])
        return {n: ext.get(f"/api/v1/telephony/commits/{rev}/files/{n}").content for n in names}


def test_sigkill_during_a_telephony_commit_leaves_one_whole_revision_live(
    running: Running,
) -> None:
    _rename_all(running, "After")
    # Killed the moment the new revision's first file is staged: between the two files.
    cut_off = _kill_when(running, "extensions", "/api/v1/telephony/commits", _staging(running))
    assert cut_off, "the kill landed while the commit ran"
    running.restart("extensions")
    with running.client("extensions") as ext:
        listed = ext.get("/api/v1/telephony/commits").json()["items"]
    live = _live_files(running)
    matching = [r["revision"] for r in listed if _revision_files(running, r["revision"]) == live]
    assert matching, "the live folder equals one stored revision, byte for byte"
    text = live["pjsip_shareline.conf"].decode()
    assert len({name for name in ("Before", "After") if f'"{name}"' in text}) == 1
    # Committing again completes what the kill interrupted.
    with running.client("extensions") as ext:
        assert ext.post("/api/v1/telephony/commits").status_code in (200, 201)
    text = _live_files(running)["pjsip_shareline.conf"].decode()
    assert '"After"' in text and '"Before"' not in text


def _device_files(running: Running) -> list[str]:
    """Every phone's file, each fetched from its own address (the phone path rate-limits)."""
    files = []
    with running.client("aps") as aps:
        for n in range(WORKLOAD):
            address = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.1"}
            response = aps.get(f"/provision/{_mac(n)}.cfg", headers=address)
            assert response.status_code == 200, response.text
            files.append(response.text)
    return files


@sqlite_only
def test_sigkill_during_an_aps_commit_leaves_every_phone_on_one_snapshot(
    running: Running,
) -> None:
    _rename_all(running, "ApsNew")
    with running.client("extensions") as ext:
        assert ext.post("/api/v1/telephony/commits").status_code in (200, 201)
    # Killed as soon as the commit starts writing its snapshot.
    cut_off = _kill_when(running, "aps", "/api/v1/aps/commits", _wal_grew(running.db("aps")))
    assert cut_off, "the kill landed while the commit ran"
    running.restart("aps")
    files = _device_files(running)
    seen = {name for text in files for name in ("Before", "ApsNew") if name in text}
    assert len(seen) == 1, "every phone sees the same snapshot, never a mix"
    (only,) = seen
    assert all(only in text for text in files)
    with running.client("aps") as aps:
        assert aps.post("/api/v1/aps/commits").status_code in (200, 201)
    assert all("ApsNew" in text for text in _device_files(running))


def _reserved(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*) FROM lic_reservation WHERE state = 'reserved'")
        return int(row.fetchone()[0])


def _pools(running: Running) -> dict[str, int]:
    with running.client("licensing") as lic:
        pools = lic.get("/api/v1/license").json()["pools"]
        return {name: int(pool["used"]) for name, pool in pools.items()}


def _existing(running: Running) -> tuple[int, int]:
    with running.client("extensions") as ext:
        page = ext.get("/api/v1/extensions", params={"limit": 500}).json()
    secondaries = sum(len(e["slots"]) - 1 for e in page["items"])
    return page["total"], secondaries


@sqlite_only
def test_sigkill_inside_an_allocation_saga_leaves_the_pools_consistent(
    running: Running,
) -> None:
    database = running.db("licensing")
    landed = 0
    for attempt in range(3):
        body = {
            "number": str(5000 + attempt),
            "name": "Saga",
            "identity": IDENTITY,
            "password": STRONG,
            "shared": {"enabled": True, "max_devices": 3},
        }
        baseline = _reserved(database)
        worker = threading.Thread(target=_post_quietly, args=(running, body))
        worker.start()
        deadline = time.monotonic() + 10
        while _reserved(database) == baseline and time.monotonic() < deadline:
            pass  # a tight loop: the window between reserve and confirm is milliseconds
        os.kill(running.suite.procs["extensions"].pid, signal.SIGKILL)
        landed += _reserved(database) > baseline
        running.suite.kill("extensions")
        worker.join(timeout=30)
        running.restart("extensions")
    assert landed >= 1, "at least one kill fell between reserve and confirm"
    time.sleep(2.5)  # the reservations' lifetime
    with running.client("licensing") as lic:
        assert lic.post("/api/v1/license/reconcile").status_code == 200
    extensions, secondaries = _existing(running)
    pools = _pools(running)
    assert pools["users"] == extensions
    assert pools["shared_devices"] == secondaries
    assert _reserved(database) == 0


def _post_quietly(running: Running, body: dict[str, Any]) -> None:
    try:
        with running.client("extensions") as ext:
            ext.post("/api/v1/extensions", json=body)
    except httpx.TransportError:
        pass  # killed while answering: the point of the test


@sqlite_only
def test_a_held_write_lock_gives_a_bounded_503_and_no_partial_write(running: Running) -> None:
    before = _pools(running)
    holder = sqlite3.connect(running.db("extensions"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with running.client("extensions") as ext:
            started = time.monotonic()
            body = {"number": "7000", "name": "Locked", "identity": IDENTITY, "password": STRONG}
            blocked = ext.post("/api/v1/extensions", json=body)
            waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.status_code == 503, blocked.text
    assert blocked.headers["content-type"] == "application/problem+json"
    assert blocked.headers["retry-after"] == "1"
    assert waited < 15.0
    with running.client("extensions") as ext:
        assert ext.get("/api/v1/extensions/7000").status_code == 404
    assert _pools(running)["users"] == before["users"], "the reservation was given back"
