"""APS commits: incremental rendering, moved slots, missing lines, the changes preview."""

from __future__ import annotations

from sqlmodel import col, func, select

from services.aps.snapshots.models import SnapshotFile
from services.common.db import READ, unit_of_work
from tests.aps.parsers import parse
from tests.aps.support import PW100, site

A, B, C = "001565000001", "001565000002", "001565000003"


async def _fetch_lines(aps, mac: str) -> dict[int, dict[str, str]]:
    response = await aps.client.get(f"/provision/{mac}.cfg", headers=site())
    assert response.status_code == 200
    return parse("yealink", response.text).lines


async def test_only_devices_whose_inputs_changed_are_rendered(aps) -> None:
    for mac, slot in ((A, "100"), (B, "100_2"), (C, "101")):
        await aps.create(mac, "yealink", "T46U", [(1, slot)])
    first = await aps.commit()
    assert sorted(first["changed"]) == [A, B, C] and first["devices_rendered"] == 3

    nothing = await aps.commit()
    assert nothing["changed"] == [] and nothing["devices_rendered"] == 0

    await aps.client.patch(f"/api/v1/aps/devices/{C}", json={"label": "Lobby"})
    one = await aps.commit()
    assert one["changed"] == [C]

    # Ring mode of 100_2 changes: only the device carrying 100_2.
    aps.extensions.set_slots(
        "100",
        [
            {"auth_name": "100", "index": 1, "ring_mode": "ring", "tone": None},
            {"auth_name": "100_2", "index": 2, "ring_mode": "distinctive", "tone": 2},
            {"auth_name": "100_3", "index": 3, "ring_mode": "ring", "tone": None},
        ],
    )
    preview = (await aps.client.get("/api/v1/aps/changes")).json()
    assert preview["changed"] == [B] and preview["base_revision"] == 3
    ring = await aps.commit()
    assert ring["changed"] == [B]
    assert (await _fetch_lines(aps, B))[1]["ring"] == "Resource:Ring2.wav"

    # A password change reaches every device carrying a slot of 100.
    document = aps.extensions.document
    document["extensions"][0]["password"] = "NewPassword100xxxxxxxxxxxx"
    aps.extensions.document = {**document, "revision": document["revision"] + 1}
    rotated = await aps.commit()
    assert sorted(rotated["changed"]) == [A, B]
    assert (await _fetch_lines(aps, A))[1]["password"] == "NewPassword100xxxxxxxxxxxx"


async def test_a_moved_slot_leaves_the_old_devices_file(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "101"), (2, "100_2")])
    await aps.create(B, "yealink", "T46U", [(1, "100")])
    await aps.commit()
    assert (await _fetch_lines(aps, A))[2]["auth"] == "100_2"

    await aps.client.patch(
        f"/api/v1/aps/devices/{A}", json={"lines": [{"line": 1, "auth_name": "101"}]}
    )
    await aps.client.patch(
        f"/api/v1/aps/devices/{B}",
        json={"lines": [{"line": 1, "auth_name": "100"}, {"line": 2, "auth_name": "100_2"}]},
    )
    # Until the commit, phones see the old files (rule 8).
    assert (await _fetch_lines(aps, A))[2]["auth"] == "100_2"
    moved = await aps.commit()
    assert sorted(moved["changed"]) == [A, B]
    old = await aps.client.get(f"/provision/{A}.cfg", headers=site())
    assert "100_2" not in old.text
    assert PW100 not in old.text
    assert "account.2.enable = 0" in old.text
    assert (await _fetch_lines(aps, B))[2]["auth"] == "100_2"


async def test_a_removed_slot_is_reported_not_rendered(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "101"), (2, "100_3")])
    await aps.commit()
    aps.extensions.set_slots(
        "100",
        [
            {"auth_name": "100", "index": 1, "ring_mode": "ring", "tone": None},
            {"auth_name": "100_2", "index": 2, "ring_mode": "ring", "tone": None},
        ],
    )
    preview = (await aps.client.get("/api/v1/aps/changes")).json()
    assert preview["missing_lines"] == [{"device": A, "line": 2, "auth_name": "100_3"}]
    snapshot = await aps.commit()
    assert snapshot["missing_lines"] == [{"device": A, "line": 2, "auth_name": "100_3"}]
    lines = await _fetch_lines(aps, A)
    assert list(lines) == [1]
    # The device can still be edited while it carries the vanished slot.
    relabel = await aps.client.patch(f"/api/v1/aps/devices/{A}", json={"keys": []})
    assert relabel.status_code == 200


async def test_deleted_device_files_disappear_and_snapshots_stay_immutable(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "100")])
    first = await aps.commit()
    await aps.client.delete(f"/api/v1/aps/devices/{A}")
    # Still served until the commit: phones only see committed state.
    assert (await aps.client.get(f"/provision/{A}.cfg", headers=site())).status_code == 200
    second = await aps.commit()
    assert second["removed"] == [A]
    assert (await aps.client.get(f"/provision/{A}.cfg", headers=site())).status_code == 401
    with unit_of_work(aps.app.state.engine, READ) as session:
        kept = session.exec(
            select(func.count())
            .select_from(SnapshotFile)
            .where(
                col(SnapshotFile.device_id) == A,
                col(SnapshotFile.first_revision) <= first["revision"],
                col(SnapshotFile.last_revision) == first["revision"],
            )
        ).one()
    assert kept == 2, "revision 1 still holds the device's .boot and .cfg"
    history = (await aps.client.get("/api/v1/aps/commits")).json()
    assert [s["revision"] for s in history] == [2, 1]
    assert (await aps.client.get("/api/v1/aps/commits/1")).json()["changed"] == [A]
    assert (await aps.client.get("/api/v1/aps/commits/9")).status_code == 404


async def test_a_name_that_would_break_a_file_refuses_the_commit(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "101")])
    document = aps.extensions.document
    document["extensions"][1]["name"] = "Bob\n[evil]"
    response = await aps.client.post("/api/v1/aps/commits")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:shareline:problem:unsafe-value"
    assert "evil" not in response.text
    assert (await aps.client.get("/api/v1/aps/commits")).json() == []


async def test_quotes_and_brackets_in_names_are_escaped_for_xml(aps) -> None:
    document = aps.extensions.document
    document["extensions"][1]["name"] = 'Bob "B" <Jones> & Co'
    await aps.create(A, "poly", "VVX450", [(1, "101")])
    await aps.create(B, "fanvil", "X4", [(1, "100")])
    await aps.commit()
    poly = await aps.client.get(f"/provision/{A}-user.cfg", headers=site())
    parsed = parse("poly", poly.text)
    assert parsed.extra["reg.1.displayName"] == 'Bob "B" <Jones> & Co'


async def test_commit_with_the_extensions_service_down_is_503_and_changes_nothing(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "100")])
    aps.extensions.down = True
    response = await aps.client.post("/api/v1/aps/commits")
    assert response.status_code == 503
    aps.extensions.down = False
    assert (await aps.client.get("/api/v1/aps/commits")).json() == []


def _age_everything(aps, hours: int = 2) -> None:
    """Pretend the devices and the last snapshot were written a while ago."""
    from datetime import timedelta

    from services.aps.devices.models import Device
    from services.aps.snapshots.models import Snapshot

    with unit_of_work(aps.app.state.engine) as session:
        for device in session.exec(select(Device)).all():
            device.updated_at -= timedelta(hours=hours)
            session.add(device)
        for snapshot in session.exec(select(Snapshot)).all():
            snapshot.created_at -= timedelta(hours=hours)
            session.add(snapshot)


async def test_incremental_planning_still_sees_edits_deletions_and_telephony(aps) -> None:
    for mac, slot in ((A, "100"), (B, "100_2"), (C, "101")):
        await aps.create(mac, "yealink", "T46U", [(1, slot)])
    await aps.commit()
    _age_everything(aps)
    await aps.client.patch(f"/api/v1/aps/devices/{B}", json={"label": "Edited"})
    edited = await aps.commit()
    assert edited["changed"] == [B] and edited["devices_total"] == 3
    await aps.client.patch(f"/api/v1/aps/devices/{B}", json={"label": "Edited"})
    same = await aps.commit()
    assert same["changed"] == [] and same["devices_total"] == 3

    _age_everything(aps)
    await aps.client.delete(f"/api/v1/aps/devices/{C}")
    deleted = await aps.commit()
    assert (deleted["changed"], deleted["removed"], deleted["devices_total"]) == ([], [C], 2)

    _age_everything(aps)
    aps.extensions.set_slots(
        "100",
        [
            {"auth_name": "100", "index": 1, "ring_mode": "ring", "tone": None},
        ],
    )
    telephony = await aps.commit()  # the content hash moved: every device is compared
    assert telephony["changed"] == [B]
    assert telephony["missing_lines"] == [{"device": B, "line": 1, "auth_name": "100_2"}]

    _age_everything(aps)
    await aps.client.patch(f"/api/v1/aps/devices/{A}", json={"label": "Again"})
    carried = await aps.commit()
    assert carried["changed"] == [A]
    assert carried["missing_lines"] == [{"device": B, "line": 1, "auth_name": "100_2"}]


async def test_commit_and_render_durations_are_measured_for_prometheus(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "100")])
    await aps.commit()
    await aps.commit()
    text = (await aps.client.get("/metrics")).text
    assert 'shareline_commit_duration_seconds_count{kind="aps"} 2.0' in text
    assert "shareline_render_duration_seconds_count 2.0" in text
