"""The phone index keeps device files deflated, and phones still get the exact bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.aps.provisioning.index import DeviceAccess, FileEntry, ProvisioningIndex
from tests.aps.support import phone_headers, site

MACS = [f"001565{n:06x}" for n in range(1, 41)]


def _device_file(mac: str, number: int) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<config mac="{mac}">\n'
        f"  <account1.label>Reception {number}</account1.label>\n"
        f"  <account1.auth_name>{number}_2</account1.auth_name>\n"
        f"  <account1.password>secret-{mac}-{number * 7919}</account1.password>\n"
        + "".join(f'  <key{k} type="blf" value="{200 + k}"/>\n' for k in range(40))
        + "</config>\n"
    ).encode()


def _index_of(count: int) -> tuple[ProvisioningIndex, dict[str, bytes]]:
    index = ProvisioningIndex()
    originals = {}
    for number, mac in enumerate(MACS[:count], start=100):
        name = f"{mac}.cfg"
        originals[name] = _device_file(mac, number)
        index.files[name] = FileEntry(name, originals[name], "text/plain", f'"{mac}"', mac)
        index.devices[mac] = DeviceAccess("hash", False, None, "yealink")
    index.files["y000000000108.cfg"] = FileEntry(
        "y000000000108.cfg", b"common", "text/plain", '"c"', None
    )
    return index, originals


def _stored(index: ProvisioningIndex) -> int:
    return sum(len(e._stored) for e in index.files.values() if e.device_id)


def test_packed_files_give_back_the_exact_bytes_in_a_fraction_of_the_memory() -> None:
    index, originals = _index_of(40)
    raw = _stored(index)
    assert index.pack() == 40
    assert {name: index.files[name].content for name in originals} == originals
    assert all(index.files[name].packed for name in originals)
    assert _stored(index) * 5 < raw
    assert [e.etag for n, e in index.files.items() if n in originals] == [
        f'"{m}"' for m in MACS[:40]
    ]
    assert index.pack() == 0  # nothing left to do


def test_common_files_stay_as_they_are() -> None:
    index, _ = _index_of(2)
    index.pack()
    common = index.files["y000000000108.cfg"]
    assert not common.packed and common.content == b"common"


def test_a_file_replaced_while_packing_keeps_its_newer_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, _ = _index_of(3)
    name = f"{MACS[0]}.cfg"
    newer = FileEntry(name, b"newer", "text/plain", '"new"', MACS[0])
    original_dictionary = ProvisioningIndex._dictionary

    def refresh_meanwhile(self: ProvisioningIndex, entry: FileEntry) -> bytes:
        if entry.name == f"{MACS[1]}.cfg":
            self.files[name] = newer  # what a refresh does between two batches
        return original_dictionary(self, entry)

    monkeypatch.setattr("services.aps.provisioning.index._PACK_BATCH", 1)
    monkeypatch.setattr(ProvisioningIndex, "_dictionary", refresh_meanwhile)
    index.pack()
    assert index.files[name] is newer and index.files[name].content == b"newer"


async def _packed(aps: Any) -> None:
    for _ in range(200):
        files = aps.app.state.index.files.values()
        if all(e.packed for e in files if e.device_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the index was not packed after the commit")


async def test_after_a_commit_phones_get_the_same_bytes_and_etags_from_the_packed_index(
    aps,
) -> None:
    for mac, auth_name in zip(MACS[:3], ("100", "100_2", "101"), strict=True):
        created = await aps.create(mac, "yealink", "T46U", [(1, auth_name)])
        assert created.status_code == 201, created.text
    await aps.commit()
    before = {}
    for mac in MACS[:3]:
        answer = await aps.client.get(f"/provision/{mac}.cfg", headers=site())
        assert answer.status_code == 200
        before[mac] = (answer.content, answer.headers["etag"])
    await _packed(aps)
    for mac in MACS[:3]:
        own = phone_headers(mac, aps.device_password(mac))
        answer = await aps.client.get(f"/provision/{mac}.cfg", headers=own)
        assert (answer.status_code, answer.content, answer.headers["etag"]) == (
            200,
            *before[mac],
        )
        again = await aps.client.get(
            f"/provision/{mac}.cfg", headers={**own, "If-None-Match": before[mac][1]}
        )
        assert again.status_code == 304


async def test_only_a_big_commit_gives_memory_back_while_phones_may_be_fetching(
    aps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.aps.snapshots import router

    releases: list[str] = []
    monkeypatch.setattr(router, "WORTH_RELEASING", 2)
    monkeypatch.setattr(router, "release_freed_memory_soon", lambda: releases.append("x"))
    for mac, auth_name in zip(MACS[:2], ("100", "101"), strict=True):
        assert (await aps.create(mac, "yealink", "T46U", [(1, auth_name)])).status_code == 201
    await aps.commit()
    assert releases == ["x"]
    changed = await aps.client.patch(f"/api/v1/aps/devices/{MACS[0]}", json={"label": "Desk"})
    assert changed.status_code == 200, changed.text
    await aps.commit()
    assert releases == ["x"]  # one device rendered: not worth a collection and a trim
