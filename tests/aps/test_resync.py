"""Resync: the vendor's check-sync event to each device's endpoints, reported per endpoint."""

from __future__ import annotations

A, B, C = "001565000001", "001565000002", "000b82000003"


async def test_one_device_gets_its_vendors_event_per_endpoint(aps) -> None:
    await aps.create(A, "yealink", "T46U", [(1, "101"), (2, "100_2")])
    await aps.commit()
    aps.extensions.registered = {"101"}
    report = await aps.client.post(f"/api/v1/aps/devices/{A}/resync", json={"reboot": False})
    assert report.status_code == 200, report.text
    device = report.json()["devices"][0]
    assert device["event"] == "check-sync;reboot=false"
    assert device["endpoints"] == {"101": "sent", "100_2": "not-registered"}
    assert device["status"] == "partial"
    assert aps.extensions.notified == [(["101", "100_2"], "check-sync;reboot=false")]

    reboot = await aps.client.post(f"/api/v1/aps/devices/{A}/resync", json={"reboot": True})
    assert reboot.json()["devices"][0]["event"] == "check-sync;reboot=true"


async def test_resync_of_unknown_or_uncommitted_devices(aps) -> None:
    missing = await aps.client.post("/api/v1/aps/devices/00:15:65:99:99:99/resync")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    await aps.create(A, "yealink", "T46U", [(1, "101")])
    uncommitted = await aps.client.post(f"/api/v1/aps/devices/{A}/resync")
    device = uncommitted.json()["devices"][0]
    assert device["status"] == "skipped"
    assert "no line" in device["reason"]
    assert aps.extensions.notified == []


async def test_resync_after_a_commit_reaches_every_changed_device_in_batches(make_aps) -> None:
    aps = await make_aps(resync_batch_size=2)
    await aps.create(A, "yealink", "T46U", [(1, "100")])
    await aps.create(B, "cisco", "8841", [(1, "100_2")])
    await aps.create(C, "grandstream", "GRP2614", [(1, "101")])
    await aps.commit()
    await aps.client.patch(f"/api/v1/aps/devices/{B}", json={"label": "Lobby"})
    await aps.client.patch(f"/api/v1/aps/devices/{C}", json={"label": "Lobby"})
    await aps.commit()
    aps.extensions.registered = {"100", "100_2", "101"}
    report = (await aps.client.post("/api/v1/aps/resync", json={})).json()
    assert report["revision"] == 2
    by_device = {d["device"]: d for d in report["devices"]}
    assert set(by_device) == {B, C}, "only devices the last commit changed"
    assert by_device[B]["event"] == "resync"  # Cisco MPP
    assert by_device[C]["event"] == "check-sync"
    assert all(d["status"] == "sent" for d in report["devices"])
    assert sorted(aps.extensions.notified) == [(["100_2"], "resync"), (["101"], "check-sync")]


async def test_batches_split_a_large_resync(make_aps) -> None:
    aps = await make_aps(resync_batch_size=2)
    macs = [f"00156500010{n}" for n in range(5)]
    aps.extensions.add_extension("200", "Pool", "Pw200ccccccccccccccccccccc", max_devices=5)
    for n, mac in enumerate(macs):
        slot = "200" if n == 0 else f"200_{n + 1}"
        assert (await aps.create(mac, "yealink", "T46U", [(1, slot)])).status_code == 201
    await aps.commit()
    report = (await aps.client.post("/api/v1/aps/resync")).json()
    assert len(report["devices"]) == 5
    assert [len(endpoints) for endpoints, _ in aps.extensions.notified] == [2, 2, 1]
    assert all(d["status"] == "not-registered" for d in report["devices"])
