# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
"""SECURITY.md catalogue, "Provisioning": the phone-facing path and the device API.

Plus the property the vendor templates promise: whatever the allow-lists accept (display
names, passwords, device and key labels) renders to each vendor's file format and parses
back (defusedxml for XML, a strict key = value reader otherwise) to exactly the intended
lines and keys.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from services.aps.devices.schemas import Label
from services.aps.settings import Settings
from services.aps.snapshots.context import DeviceInputs, device_context
from services.aps.telephony import read_committed
from services.aps.vendors.catalog import Catalog, Vendor
from services.extensions import validation
from tests.aps.conftest import ApsHarness, aps, make_aps  # noqa: F401  (fixtures)
from tests.aps.parsers import parse
from tests.aps.support import PW100, SITE_PASSWORD, phone_headers, site, telephony_document

PROBLEM = "application/problem+json"
DESK, OTHER, THIRD = "001565000001", "001565000002", "001565000003"
SPELLINGS = {
    "colons-upper": "AA:BB:CC:DD:EE:F0",
    "dashes-lower": "aa-bb-cc-dd-ee-f0",
    "cisco-dots": "aabb.ccdd.eef0",
    "bare-upper": "AABBCCDDEEF0",
}
BAD_NAMES = {
    "dot-dot-slash": ("/provision/../aps.db", {404}),
    "encoded-dot-dot-slash": ("/provision/%2e%2e%2faps.db", {404}),
    "nul-byte": ("/provision/001565000001.cfg%00", {400}),
    "thirteen-hex-digits": ("/provision/0015650000010.cfg", {404}),
    "non-hex": ("/provision/00156500000g.cfg", {404}),
    "multicast-mac": ("/provision/010000000001.cfg", {404}),
    # 000000000000.cfg is Poly's common (secret-free) master file, so `.boot` here.
    "all-zero-mac": ("/provision/000000000000.boot", {404}),
}


async def _phones(aps: ApsHarness) -> None:
    assert (await aps.create(DESK, "yealink", "T46U", [(1, "100")])).status_code == 201
    assert (await aps.create(OTHER, "yealink", "T46U", [(1, "101")])).status_code == 201
    await aps.commit()


async def test_four_mac_spellings_are_one_device(aps: ApsHarness) -> None:
    spellings = list(SPELLINGS.values())
    assert (await aps.create(spellings[0], "yealink", "T46U", [])).status_code == 201
    for spelling in spellings[1:]:
        again = await aps.create(spelling, "yealink", "T46U", [])
        assert again.status_code == 409, spelling
        assert again.headers["content-type"] == PROBLEM
    listed = (await aps.client.get("/api/v1/aps/devices")).json()
    assert [d["id"] for d in listed] == ["aabbccddeef0"]


@pytest.mark.parametrize(("path", "statuses"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_malformed_or_traversing_file_names_are_404_or_400(
    aps: ApsHarness, path: str, statuses: set[int]
) -> None:
    await _phones(aps)
    response = await aps.client.get(path, headers=site())
    assert response.status_code in statuses
    assert response.headers["content-type"] == PROBLEM
    assert PW100 not in response.text


async def test_no_wrong_or_another_devices_credentials_get_an_identical_401(
    aps: ApsHarness,
) -> None:
    await _phones(aps)
    other = aps.device_password(OTHER)
    answers = [
        await aps.client.get(f"/provision/{DESK}.cfg", headers=headers)
        for headers in (
            phone_headers(),
            phone_headers("provision", SITE_PASSWORD + "x"),
            phone_headers(OTHER, other),
        )
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    for answer in answers:
        for secret in (PW100, SITE_PASSWORD, other, aps.device_password(DESK)):
            assert secret not in answer.text
            assert secret not in str(answer.headers)


async def test_a_thousand_sequential_macs_from_one_address_are_429_then_banned(
    aps: ApsHarness,
) -> None:
    await _phones(aps)
    statuses = []
    for n in range(1000):
        response = await aps.client.get(
            f"/provision/001565{n + 0x100:06x}.cfg", headers=site("203.0.113.9")
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429, "the scan is stopped long before 1,000"
    assert len(statuses) < 100
    banned = await aps.client.get(f"/provision/{DESK}.cfg", headers=site("203.0.113.9"))
    assert banned.status_code == 429
    assert banned.headers["content-type"] == PROBLEM


async def test_a_slot_moved_to_another_device_leaves_the_old_devices_file(
    aps: ApsHarness,
) -> None:
    assert (await aps.create(DESK, "yealink", "T46U", [(1, "100"), (2, "101")])).status_code == 201
    await aps.commit()
    moved = await aps.client.patch(
        f"/api/v1/aps/devices/{DESK}", json={"lines": [{"line": 1, "auth_name": "100"}]}
    )
    assert moved.status_code == 200, moved.text
    assert (await aps.create(THIRD, "yealink", "T46U", [(1, "101")])).status_code == 201
    await aps.commit()
    old = await aps.client.get(f"/provision/{DESK}.cfg", headers=site())
    new = await aps.client.get(f"/provision/{THIRD}.cfg", headers=site())
    assert old.status_code == new.status_code == 200
    assert set(parse("yealink", old.text).lines) == {1}
    assert {line["auth"] for line in parse("yealink", old.text).lines.values()} == {"100"}
    assert {line["auth"] for line in parse("yealink", new.text).lines.values()} == {"101"}


@pytest.mark.parametrize("joiner", ["\u200d", "\u200c"], ids=["zwj", "zwnj"])
async def test_a_label_with_an_invisible_joiner_is_422_and_commits_keep_working(
    aps: ApsHarness, joiner: str
) -> None:
    # Found by the property below: `\w` matched the joiners the phone renderer refuses.
    device = await aps.create(DESK, "yealink", "T46U", [(1, "100")], label=f"Desk{joiner}1")
    keyed = await aps.create(
        OTHER,
        "yealink",
        "T46U",
        [(1, "101")],
        keys=[{"key": 5, "type": "blf", "extension": "100", "label": f"A{joiner}b"}],
    )
    assert device.status_code == keyed.status_code == 422
    assert device.headers["content-type"] == PROBLEM
    assert (await aps.client.get("/api/v1/aps/devices")).json() == []
    await aps.commit()


async def test_a_number_where_a_boolean_belongs_is_422(aps: ApsHarness) -> None:
    # Found by schemathesis: `{"reboot": 0}` was read as false and accepted.
    await _phones(aps)
    refused = await aps.client.post("/api/v1/aps/resync", json={"reboot": 0})
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert aps.extensions.notified == []


# --- Property: accepted values parse back from every vendor's files --------------------------

LABELS = TypeAdapter(Label)
# Vendors whose device file shows the caller-id name / a BLF key's label as a value of its own.
SHOWS_NAME = {"yealink", "poly", "grandstream", "snom", "cisco"}
SHOWS_KEY_LABEL = {"yealink", "poly", "grandstream", "cisco"}
VENDORS = {vendor.name: vendor for vendor in Catalog.builtin()}
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _accepted(check: object, value: str) -> bool:
    try:
        check(value)  # type: ignore[operator]
    except (ValueError, ValidationError):
        return False
    return True


names = st.text(
    st.characters(categories=["L", "Mn", "Mc", "Nd"], include_characters=" '-._"),
    min_size=1,
    max_size=64,
).filter(lambda s: _accepted(validation.check_display_name, s))
passwords = st.from_regex(validation.PASSWORD_RE, fullmatch=True)
labels = st.text(
    st.characters(categories=["L", "Mn", "Nd", "Pc", "Cf"], include_characters=" .,'()+&@/-"),
    min_size=1,
    max_size=32,
).filter(lambda s: _accepted(LABELS.validate_python, s))


def _render(vendor: Vendor, name: str, password: str, label: str, key_label: str) -> list:
    document = telephony_document()
    document["extensions"][0].update(name=name, password=password)
    device = DeviceInputs(
        DESK,
        vendor.name,
        vendor.models[0].name,
        label,
        "UTC",
        [{"key": 5, "type": "blf", "extension": "101", "label": key_label}],
        [(1, "100")],
    )
    context = device_context(device, vendor, read_committed(document), Settings(), "dev-secret")
    return vendor.render_device(context)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("vendor_name", sorted(VENDORS))
@PROPERTY
@given(name=names, password=passwords, label=labels, key_label=labels)
def test_accepted_values_parse_back_from_the_vendors_file(
    vendor_name: str, name: str, password: str, label: str, key_label: str
) -> None:
    parsed = [
        parse(vendor_name, f.content.decode())
        for f in _render(VENDORS[vendor_name], name, password, label, key_label)
        if not f.name.endswith(".boot")
    ]
    with_lines = [p for p in parsed if p.lines]
    assert len(with_lines) == 1
    lines, values = with_lines[0].lines, {v for p in parsed for v in _strings(p.extra)}
    assert set(lines) == {1}
    assert (lines[1]["user"], lines[1]["auth"], lines[1]["password"]) == ("100", "100", password)
    assert [k for p in parsed for k in p.blf] == ["101"]
    if vendor_name in SHOWS_NAME:
        assert name in values
    if vendor_name in SHOWS_KEY_LABEL:
        assert key_label in values
