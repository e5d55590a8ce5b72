"""Device CRUD: MAC spellings, refused MACs, slots on one line only, audit, bad input."""

from __future__ import annotations

import pytest
from sqlmodel import select

from services.aps.audit import AuditEntry
from services.aps.devices.identity import InvalidMac, parse_mac
from services.common.db import READ, unit_of_work

SPELLINGS = ["AA:BB:CC:DD:EE:F0", "aa-bb-cc-dd-ee-f0", "aabb.ccdd.eef0", "AABBCCDDEEF0"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_common_spelling_gives_the_canonical_mac(spelling: str) -> None:
    assert parse_mac(spelling) == "aabbccddeef0"


@pytest.mark.parametrize(
    "bad",
    [
        "01:00:5e:00:00:01",
        "00:00:00:00:00:00",
        "ff:ff:ff:ff:ff:ff",
        "aabbccddeef",
        "aabbccddeef00",
        "gg:bb:cc:dd:ee:f0",
        "aa:bb:cc:dd:ee",
        "aa:bb-cc:dd:ee:f0",
        " aabbccddeef0",
        "aabbccddeef0\n",
    ],
)
def test_unusable_macs_are_refused(bad: str) -> None:
    with pytest.raises(InvalidMac):
        parse_mac(bad)


async def test_four_spellings_name_one_device(aps) -> None:
    first = await aps.create(SPELLINGS[0], "yealink", "T46U", [(1, "101")])
    assert first.status_code == 201
    assert first.json()["id"] == "aabbccddeef0"
    assert first.headers["location"] == "/api/v1/aps/devices/aabbccddeef0"
    for spelling in SPELLINGS[1:]:
        again = await aps.create(spelling, "yealink", "T46U", [])
        assert again.status_code == 409
        assert again.json()["type"] == "urn:shareline:problem:device-exists"
        assert (await aps.client.get(f"/api/v1/aps/devices/{spelling}")).json()["id"] == (
            "aabbccddeef0"
        )
    assert len((await aps.client.get("/api/v1/aps/devices")).json()) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "01:00:5e:00:00:01",
        "00:00:00:00:00:00",
        "ff:ff:ff:ff:ff:ff",
        "aabbccddeef",
        "zzbbccddeef0",
        "../../etc/passwd",
    ],
)
async def test_bad_mac_in_body_is_422_and_changes_nothing(aps, bad: str) -> None:
    response = await aps.create(bad, "yealink", "T46U", [(1, "101")])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:shareline:problem:invalid-mac"
    assert (await aps.client.get("/api/v1/aps/devices")).json() == []


async def test_a_slot_sits_on_one_device_line_only(aps) -> None:
    assert (
        await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "100")])
    ).status_code == 201
    taken = await aps.create("00:15:65:00:00:02", "poly", "VVX450", [(1, "101"), (2, "100")])
    assert taken.status_code == 409
    body = taken.json()
    assert body["type"] == "urn:shareline:problem:slot-taken"
    assert body["device"] == "001565000001"
    assert "001565000001" in body["detail"]
    assert (await aps.client.get("/api/v1/aps/devices/001565000002")).status_code == 404
    free_line = await aps.create("00:15:65:00:00:02", "poly", "VVX450", [(1, "101")])
    assert free_line.status_code == 201
    moved = await aps.client.patch(
        "/api/v1/aps/devices/001565000002", json={"lines": [{"line": 1, "auth_name": "100"}]}
    )
    assert moved.status_code == 409
    assert moved.json()["device"] == "001565000001"


async def test_a_line_must_carry_a_committed_slot(aps) -> None:
    response = await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "100_4")])
    assert response.status_code == 422
    assert response.json()["type"] == "urn:shareline:problem:unknown-slot"
    assert response.json()["auth_names"] == ["100_4"]
    assert (await aps.client.get("/api/v1/aps/devices")).json() == []


@pytest.mark.parametrize(
    "change",
    [
        {"vendor": "acme"},
        {"model": "T99"},
        {"time_zone": "Mars/Olympus"},
        {"label": "evil\n[section]"},
        {"label": "x;--"},
        {"label": "#include"},
        {"label": "a" * 40},
        {"lines": [{"line": 1, "auth_name": "100"}, {"line": 1, "auth_name": "101"}]},
        {"lines": [{"line": 1, "auth_name": "100"}, {"line": 2, "auth_name": "100"}]},
        {"lines": [{"line": 17, "auth_name": "100"}]},
        {"lines": [{"line": 1, "auth_name": "100_1"}]},
        {"lines": [{"line": 1, "auth_name": "100;x"}]},
        {"keys": [{"key": 1, "type": "blf", "extension": "100"}]},
        {"keys": [{"key": 3, "type": "park", "extension": "100"}]},
        {"keys": [{"key": 3, "type": "blf", "extension": "100&1"}]},
        {"surprise": True},
    ],
)
async def test_bad_device_bodies_get_422_problems_and_change_nothing(aps, change) -> None:
    body = {
        "id": "00:15:65:00:00:01",
        "vendor": "yealink",
        "model": "T46U",
        "lines": [{"line": 1, "auth_name": "101"}],
        **change,
    }
    response = await aps.client.post("/api/v1/aps/devices", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await aps.client.get("/api/v1/aps/devices")).json() == []


async def test_update_replaces_lines_and_delete_frees_the_slot(aps) -> None:
    await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "100")])
    updated = await aps.client.patch(
        "/api/v1/aps/devices/00-15-65-00-00-01",
        json={
            "label": "Desk",
            "time_zone": "Europe/Berlin",
            "lines": [{"line": 1, "auth_name": "101"}],
            "keys": [{"key": 2, "type": "speed_dial", "extension": "100"}],
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["label"], body["time_zone"]) == ("Desk", "Europe/Berlin")
    assert body["lines"] == [{"line": 1, "auth_name": "101"}]
    assert body["keys"] == [{"key": 2, "type": "speed_dial", "extension": "100", "label": None}]
    assert (await aps.create("00:15:65:00:00:02", "snom", "D785", [(1, "100")])).status_code == 201
    assert (await aps.client.delete("/api/v1/aps/devices/001565000001")).status_code == 204
    assert (await aps.client.get("/api/v1/aps/devices/001565000001")).status_code == 404
    assert (await aps.create("00:15:65:00:00:03", "snom", "D785", [(1, "101")])).status_code == 201


async def test_every_write_is_audited_with_the_actor(aps) -> None:
    await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "100")])
    await aps.client.patch("/api/v1/aps/devices/001565000001", json={"label": "Desk"})
    await aps.commit()
    await aps.client.delete("/api/v1/aps/devices/001565000001")
    with unit_of_work(aps.app.state.engine, READ) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action) for e in entries] == [
        ("admin", "device.create"),
        ("admin", "device.update"),
        ("admin", "aps.commit"),
        ("admin", "device.delete"),
    ]


async def test_extensions_down_gives_503_and_no_device(aps) -> None:
    aps.extensions.down = True
    response = await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "100")])
    assert response.status_code == 503
    assert response.json()["service"] == "extensions"
    aps.extensions.down = False
    assert (await aps.client.get("/api/v1/aps/devices")).json() == []


async def test_routes_need_a_service_token(aps) -> None:
    bare = await aps.client.get("/api/v1/aps/devices", headers={"X-Service-Token": ""})
    assert bare.status_code == 401
    assert bare.headers["content-type"] == "application/problem+json"
