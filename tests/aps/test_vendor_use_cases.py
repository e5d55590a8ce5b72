"""For every vendor, the three use cases rendered, then parsed in the vendor's own format."""

from __future__ import annotations

import pytest

from tests.aps.parsers import VENDOR_CASES, parse
from tests.aps.support import PW100, PW101, SIP_HOST, site

VENDORS = sorted(VENDOR_CASES)


def _mac(vendor: str, n: int) -> str:
    return f"00:0b:{VENDORS.index(vendor) + 0x10:02x}:00:00:{n:02x}"


async def _fetch(aps, vendor: str, mac: str) -> str:
    name = VENDOR_CASES[vendor][1].format(mac=mac.replace(":", ""))
    response = await aps.client.get(f"/provision/{name}", headers=site())
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.parametrize("vendor", VENDORS)
async def test_use_case_1_secondary_slot_next_to_the_primary_on_a_yealink(aps, vendor) -> None:
    model = VENDOR_CASES[vendor][0]
    desk, other = "00:15:65:00:00:01", _mac(vendor, 1)
    assert (await aps.create(desk, "yealink", "T46U", [(1, "100")])).status_code == 201
    assert (await aps.create(other, vendor, model, [(1, "100_2")])).status_code == 201
    await aps.commit()

    parsed = parse(vendor, await _fetch(aps, vendor, other))
    assert parsed.lines == {
        1: {
            "user": "100",
            "auth": "100_2",
            "password": PW100,
            "server": SIP_HOST,
            "ring": parsed.lines[1]["ring"],
        }
    }
    desk_file = parse("yealink", await _fetch(aps, "yealink", desk))
    assert desk_file.lines[1]["auth"] == "100"
    assert desk_file.lines[1]["user"] == "100"
    other_text = await _fetch(aps, vendor, other)
    assert aps.device_password("001565000001") not in other_text
    assert PW101 not in other_text


@pytest.mark.parametrize("vendor", VENDORS)
async def test_use_case_2_colleague_phone_carries_100_2_on_line_2(aps, vendor) -> None:
    model = VENDOR_CASES[vendor][0]
    mac = _mac(vendor, 2)
    blf = [{"key": 3, "type": "blf", "extension": "100", "label": "Alice & Co (1)"}]
    assert (
        await aps.create(mac, vendor, model, [(1, "101"), (2, "100_2")], blf)
    ).status_code == 201
    await aps.commit()

    text = await _fetch(aps, vendor, mac)
    parsed = parse(vendor, text)
    assert {
        n: (v["user"], v["auth"], v["password"], v["server"]) for n, v in parsed.lines.items()
    } == {
        1: ("101", "101", PW101, SIP_HOST),
        2: ("100", "100_2", PW100, SIP_HOST),
    }
    assert parsed.blf == ["100"]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_use_case_3_three_devices_carry_100_100_2_100_3(aps, vendor) -> None:
    model, _name, tone_3 = VENDOR_CASES[vendor]
    macs = [_mac(vendor, n) for n in (3, 4, 5)]
    for mac, auth_name in zip(macs, ("100", "100_2", "100_3"), strict=True):
        assert (await aps.create(mac, vendor, model, [(1, auth_name)])).status_code == 201
    snapshot = await aps.commit()
    assert snapshot["devices_rendered"] == 3

    passwords = {m.replace(":", ""): aps.device_password(m.replace(":", "")) for m in macs}
    for mac, auth_name in zip(macs, ("100", "100_2", "100_3"), strict=True):
        text = await _fetch(aps, vendor, mac)
        line = parse(vendor, text).lines
        assert list(line) == [1]
        assert (line[1]["user"], line[1]["auth"], line[1]["password"], line[1]["server"]) == (
            "100",
            auth_name,
            PW100,
            SIP_HOST,
        )
        if auth_name == "100_3":  # distinctive ring, tone 3
            assert line[1]["ring"] == tone_3
        own = mac.replace(":", "")
        assert passwords[own] in text, "the MAC file sets the device's own credential"
        for other, secret in passwords.items():
            if other != own:
                assert secret not in text
