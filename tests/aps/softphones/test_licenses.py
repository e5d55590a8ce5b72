"""Each softphone holds one `softphones` license while it exists (device routes of APS)."""

from __future__ import annotations

import pytest

from services.aps.softphones.licenses import hold_license
from services.common.db import unit_of_work
from tests.aps.softphones.conftest import Aps

DEVICES = "/api/v1/aps/devices"
SOFTPHONE = {
    "vendor": "softphone",
    "model": "linphone",
    "lines": [{"line": 1, "auth_name": "100_2"}],
}


async def device_ids(aps: Aps) -> list[str]:
    response = await aps.client.get(DEVICES)
    assert response.status_code == 200
    return [d["id"] for d in response.json()]


async def test_a_new_softphone_holds_a_confirmed_license_and_gives_it_back_on_delete(
    aps: Aps,
) -> None:
    created = await aps.client.post(DEVICES, json=SOFTPHONE)
    assert created.status_code == 201, created.text
    device = created.json()["id"]
    assert device.startswith("sp-")
    assert aps.licensing.held == {f"softphone:{device}": "confirmed"}
    assert aps.licensing.inventory["aps"]["holders"] == {"softphones": [f"softphone:{device}"]}
    deleted = await aps.client.delete(f"{DEVICES}/{device}")
    assert deleted.status_code == 204
    assert aps.licensing.held == {}
    assert aps.licensing.inventory["aps"]["holders"] == {"softphones": []}
    assert await device_ids(aps) == []


async def test_an_exhausted_pool_is_409_naming_it_and_nothing_is_created(aps: Aps) -> None:
    aps.licensing.capacity = 0
    refused = await aps.client.post(DEVICES, json=SOFTPHONE)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "urn:shareline:problem:pool-exhausted"
    assert (body["pool"], body["capacity"], body["used"], body["requested"]) == (
        "softphones",
        0,
        0,
        1,
    )
    assert await device_ids(aps) == []
    aps.licensing.capacity = 1
    assert (await aps.client.post(DEVICES, json=SOFTPHONE)).status_code == 201


async def test_licensing_down_is_503_and_nothing_is_created(aps: Aps) -> None:
    aps.licensing.down = True
    refused = await aps.client.post(DEVICES, json=SOFTPHONE)
    assert refused.status_code == 503
    assert refused.json()["service"] == "licensing"
    assert await device_ids(aps) == []


async def test_a_creation_rolled_back_after_the_reservation_releases_it(aps: Aps) -> None:
    device = "sp-0123456789abcdef0123"
    with pytest.raises(RuntimeError), unit_of_work(aps.engine) as session:
        hold_license(session, aps.runtime.licensing, device)
        assert aps.licensing.held == {f"softphone:{device}": "reserved"}
        raise RuntimeError("a later step of the creation failed")
    assert aps.licensing.held == {}
    assert [path for _method, path in aps.licensing.requests] == [
        "/internal/v1/reservations",
        "/internal/v1/releases",
    ]


async def test_hardware_phones_take_no_softphone_license(aps: Aps) -> None:
    phone = {
        "vendor": "yealink",
        "model": "T46S",
        "id": "00:15:65:aa:bb:cc",
        "lines": [{"line": 1, "auth_name": "101"}],
    }
    created = await aps.client.post(DEVICES, json=phone)
    assert created.status_code == 201, created.text
    assert aps.licensing.requests == []
    assert (await aps.client.delete(f"{DEVICES}/001565aabbcc")).status_code == 204
    assert aps.licensing.requests == []


async def test_a_release_lost_while_licensing_was_down_is_covered_by_the_next_inventory(
    aps: Aps,
) -> None:
    first = (await aps.client.post(DEVICES, json=SOFTPHONE)).json()["id"]
    aps.licensing.down = True
    assert (await aps.client.delete(f"{DEVICES}/{first}")).status_code == 204
    aps.licensing.down = False
    assert aps.licensing.held == {f"softphone:{first}": "confirmed"}  # not released yet
    second = (await aps.client.post(DEVICES, json=SOFTPHONE)).json()["id"]
    # The inventory no longer names the first softphone: the reconciler may release it.
    assert aps.licensing.inventory["aps"]["holders"] == {"softphones": [f"softphone:{second}"]}
