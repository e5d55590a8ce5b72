"""A local APS commit fills the phone index from the rows it wrote (`advance`): what the
phones are served must be exactly what a restarted replica reads back from the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, func, select

from services.aps.app import create_app
from services.aps.provisioning.index import ProvisioningIndex
from services.aps.snapshots import service as snapshot_service
from services.aps.snapshots.models import SnapshotFile
from services.common.db import READ, unit_of_work
from tests.aps.support import FakeExtensions, admin_headers, phone_headers, site

YEALINK, POLY, SNOM, CISCO, FANVIL = (
    "001565000001",
    "0004f2000002",
    "000413000003",
    "00562b000004",
    "0c383e000005",
)


def _served(index: ProvisioningIndex) -> dict[str, Any]:
    return {
        "revision": index.revision,
        "files": {
            name: (e.content, e.content_type, e.etag, e.device_id)
            for name, e in index.files.items()
        },
        "devices": {
            device: (a.credential_hash, a.enrolled, a.digest_ha1, a.vendor)
            for device, a in index.devices.items()
        },
    }


def _read_back(app: Any) -> dict[str, Any]:
    """What a replica starting now would serve."""
    fresh = ProvisioningIndex(sealer=app.state.sealer)
    fresh.refresh(app.state.engine)
    return _served(fresh)


def _refused(*_args: Any) -> None:
    raise AssertionError("the index read the commit back from the database")


@pytest.fixture
def index_reads_are_refused(aps, monkeypatch) -> None:
    """Reading a snapshot back from the database fails: only `advance` can fill it."""

    monkeypatch.setattr(aps.app.state.index, "_apply", _refused)


def _opened_and_open(app: Any, revision: int) -> tuple[set[str | None], list[str]]:
    """Devices with files opened at `revision`; names open more than once (none, ever)."""
    with unit_of_work(app.state.engine, READ) as session:
        opened = session.exec(
            select(SnapshotFile.device_id).where(SnapshotFile.first_revision == revision)
        ).all()
        doubled = session.exec(
            select(SnapshotFile.name)
            .where(col(SnapshotFile.last_revision).is_(None))
            .group_by(col(SnapshotFile.name))
            .having(func.count() > 1)
        ).all()
    return set(opened), list(doubled)


async def _commit_and_compare(aps, *, served_devices: set[str] | None = None) -> dict[str, Any]:
    snapshot = await aps.commit()
    served = _served(aps.app.state.index)
    assert served["revision"] == snapshot["revision"]
    assert served == _read_back(aps.app)
    opened, doubled = _opened_and_open(aps.app, snapshot["revision"])
    assert opened - {None} == set(snapshot["changed"]) and doubled == []
    if served_devices is not None:
        assert {e[3] for e in served["files"].values()} - {None} == served_devices
        assert set(served["devices"]) == served_devices
    return snapshot


@pytest.fixture
async def aps(make_aps):
    # No background catch-up during the test: the commit alone moves the index.
    return await make_aps(snapshot_check_seconds=3600, fetch_flush_seconds=3600)


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "select-first"])
@pytest.mark.parametrize("chunk", [500, 1], ids=["in-lists", "whole-table-reads"])
async def test_the_commit_fills_the_index_exactly_as_a_restart_reads_it(
    aps, index_reads_are_refused, monkeypatch, returning: bool, chunk: int
) -> None:
    if not returning:  # a database without UPDATE ... RETURNING: closed rows read first
        monkeypatch.setattr(aps.app.state.engine.dialect, "update_returning", False)
    # With one id per IN list, most commits here read whole tables, a few use IN lists.
    monkeypatch.setattr(snapshot_service, "CHUNK", chunk)
    aps.extensions.add_extension("102", "Carol & <Co>", "Pw102ccccccccccccccccccccc", 3)
    blf = [{"key": 6, "type": "blf", "extension": "101", "label": "Bob"}]
    for mac, vendor, model, lines in (
        (YEALINK, "yealink", "T46U", [(1, "100"), (2, "102_3")]),
        (POLY, "poly", "VVX450", [(1, "100_2"), (3, "101")]),
        (SNOM, "snom", "D785", [(1, "100_3")]),
        (CISCO, "cisco", "8851", [(2, "102")]),
        (FANVIL, "fanvil", "X4", [(1, "102_2")]),
    ):
        created = await aps.create(mac, vendor, model, lines, keys=blf)
        assert created.status_code == 201, created.text
    everyone = {YEALINK, POLY, SNOM, CISCO, FANVIL}
    first = await _commit_and_compare(aps, served_devices=everyone)
    assert first["devices_rendered"] == 5
    for mac in (POLY, FANVIL):  # two of five: IN lists again
        await aps.client.patch(f"/api/v1/aps/devices/{mac}", json={"keys": []})
    two = await _commit_and_compare(aps, served_devices=everyone)
    assert sorted(two["changed"]) == sorted([POLY, FANVIL])

    # An enrolled device keeps its enrolment; a relabel, a moved slot, a deletion.
    own = aps.device_password(YEALINK)
    fetched = await aps.client.get(f"/provision/{YEALINK}.cfg", headers=phone_headers(YEALINK, own))
    assert fetched.status_code == 200
    aps.app.state.fetches.flush(aps.app.state.engine)
    await aps.client.patch(f"/api/v1/aps/devices/{YEALINK}", json={"label": "Front desk"})
    await aps.client.patch(
        f"/api/v1/aps/devices/{POLY}", json={"lines": [{"line": 1, "auth_name": "100_2"}]}
    )
    await aps.client.patch(
        f"/api/v1/aps/devices/{CISCO}",
        json={"lines": [{"line": 2, "auth_name": "102"}, {"line": 4, "auth_name": "101"}]},
    )
    assert (await aps.client.delete(f"/api/v1/aps/devices/{SNOM}")).status_code == 204
    edited = await _commit_and_compare(aps, served_devices=everyone - {SNOM})
    assert sorted(edited["changed"]) == sorted([YEALINK, POLY, CISCO])
    assert edited["removed"] == [SNOM]
    assert aps.app.state.index.devices[YEALINK].enrolled
    assert SNOM not in aps.app.state.index.devices
    gone = await aps.client.get(f"/provision/{SNOM}.xml", headers=site())
    assert gone.status_code in (401, 404)

    # A new SIP port changes every device file and the common files.
    document = aps.extensions.document
    aps.extensions.document = {
        **document,
        "revision": document["revision"] + 1,
        "sip": {**document["sip"], "port": 5070},
    }
    moved = await _commit_and_compare(aps, served_devices=everyone - {SNOM})
    assert moved["devices_rendered"] == 4

    nothing = await _commit_and_compare(aps, served_devices=everyone - {SNOM})
    assert nothing["devices_rendered"] == 0


async def test_changed_common_files_reach_the_index_as_a_restart_reads_them(
    make_aps, monkeypatch
) -> None:
    first = await make_aps(snapshot_check_seconds=3600)
    assert (await first.create(YEALINK, "yealink", "T46U", [(1, "100")])).status_code == 201
    await first.commit()
    # The same database under another provisioning URL: every common file changes.
    moved = await make_aps(
        snapshot_check_seconds=3600,
        aps_database_url=first.settings.aps_database_url,
        provisioning_base_url="https://prov2.example.com/p/",
    )
    assert moved.app.state.index.revision == 1  # read at start-up
    monkeypatch.setattr(moved.app.state.index, "_apply", _refused)
    snapshot = await _commit_and_compare(moved)
    assert snapshot["common_files_changed"] and snapshot["changed"] == [YEALINK]
    common = await moved.client.get("/provision/y000000000108.cfg", headers=site())
    assert common.status_code == 200 and "https://prov2.example.com/p/" in common.text


async def test_a_commit_after_another_replicas_commit_reads_the_database(
    aps, lifespan_client
) -> None:
    other_app = create_app(aps.settings, extensions=FakeExtensions().client(aps.settings))
    other = await lifespan_client(other_app, headers=admin_headers())
    assert (await aps.create(YEALINK, "yealink", "T46U", [(1, "100")])).status_code == 201
    assert (await other.post("/api/v1/aps/commits")).status_code == 201
    assert aps.app.state.index.revision == 0  # its 1-second check has not run

    blf = [{"key": 6, "type": "blf", "extension": "101", "label": "Bob"}]
    await aps.client.patch(f"/api/v1/aps/devices/{YEALINK}", json={"keys": blf})
    second = await aps.commit()
    assert second["revision"] == 2
    assert _served(aps.app.state.index) == _read_back(aps.app)
    served = await aps.client.get(f"/provision/{YEALINK}.cfg", headers=site())
    assert served.status_code == 200 and "linekey.6.label = Bob" in served.text
