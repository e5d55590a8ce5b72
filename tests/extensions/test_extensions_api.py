"""Extensions CRUD, slots from max devices, and every bad input of SECURITY.md."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.extensions.conftest import STRONG, extension_body

PROBLEM = "application/problem+json"


async def create(api: httpx.AsyncClient, number: str = "100", **fields) -> httpx.Response:
    return await api.post("/api/v1/extensions", json=extension_body(number, **fields))


def auth_names(body: dict) -> list[str]:
    return [s["auth_name"] for s in body["slots"]]


async def test_create_gives_slots_from_max_devices_and_hides_the_password(api) -> None:
    response = await create(api, shared={"enabled": True, "max_devices": 3})
    assert response.status_code == 201, response.text
    body = response.json()
    assert auth_names(body) == ["100", "100_2", "100_3"]
    assert [s["primary"] for s in body["slots"]] == [True, False, False]
    assert STRONG not in response.text and "password" not in body
    listed = (await api.get("/api/v1/extensions")).json()
    assert listed["total"] == 1 and STRONG not in str(listed)
    assert auth_names((await api.get("/api/v1/extensions/100")).json()) == ["100", "100_2", "100_3"]


async def test_one_slot_when_shared_support_is_disabled(api) -> None:
    body = (await create(api)).json()
    assert auth_names(body) == ["100"]
    assert body["shared"] == {"enabled": False, "max_devices": 1}


async def test_generated_password_is_strong_and_shown_only_on_the_credentials_sheet(api) -> None:
    body = extension_body()
    del body["password"]
    assert (await api.post("/api/v1/extensions", json=body)).status_code == 201
    sheet = (await api.get("/api/v1/extensions/100/credentials")).json()
    password = sheet["slots"][0]["password"]
    assert len(password) >= 20 and password.isalnum()
    assert sheet["slots"][0] | {"password": "x"} == {
        "index": 1,
        "server": "127.0.0.1",
        "port": 5060,
        "transport": "udp",
        "user": "100",
        "auth_name": "100",
        "password": "x",
    }
    assert sheet["committed"] is False
    assert password not in (await api.get("/api/v1/extensions/100")).text


async def test_credentials_sheet_lists_every_slot_with_the_configured_server(make_api) -> None:
    api = await make_api(sip_host="pbx.example.com", sip_port=5061, sip_transport="tls")
    await create(api, shared={"enabled": True, "max_devices": 2})
    sheet = (await api.get("/api/v1/extensions/100/credentials")).json()
    assert [
        (s["user"], s["server"], s["port"], s["transport"], s["password"]) for s in sheet["slots"]
    ] == [
        ("100", "pbx.example.com", 5061, "tls", STRONG),
        ("100_2", "pbx.example.com", 5061, "tls", STRONG),
    ]
    assert sheet["caller_id"] == '"Alice" <100>'


async def test_list_pages_in_numeric_order(api) -> None:
    for number in ("1000", "101", "99", "100"):
        assert (await create(api, number)).status_code == 201
    page = (await api.get("/api/v1/extensions", params={"limit": 2, "offset": 1})).json()
    assert [e["number"] for e in page["items"]] == ["100", "101"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


BAD_TEXT = [
    "x\n[evil]",
    "x\r",
    "x\u2028y",
    "x\x00",
    "x;y",
    "x;--",
    "#include",
    "#exec",
    "a&b",
    "a,b",
    "a(b",
    "a)b",
    "a/b",
    "a@b",
    "${EXTEN}",
    "$[1+1]",
    "_lead",
    "a\u202eb",
    "a\u200bb",
    'a"b',
    "a<b>",
    "a\\b",
    "a[b",
    "a]b",
    "a{b}",
    "a|b",
    " lead",
    "trail ",
]
BAD_NUMBERS = [
    "100_2",
    "100_",
    "100_0",
    "0100",
    "1",
    "123456789",
    "\uff11\uff10\uff10",
    "\u0661\u0660\u0660",
    "10\u200b0",
    "\u202e100",
    "100\n",
    "1;0",
    "_100",
    "1&0",
    "100 ",
]


@pytest.mark.parametrize("name", BAD_TEXT)
async def test_unsafe_display_name_is_refused_and_nothing_is_created(api, name) -> None:
    response = await create(api, name=name)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0


@pytest.mark.parametrize("number", BAD_NUMBERS)
async def test_unsafe_or_slot_shaped_number_is_refused(api, number) -> None:
    response = await create(api, number)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0


@pytest.mark.parametrize("full_name", ["A\nB", "A;B", "${X}", "x" * 129])
async def test_unsafe_identity_is_refused(api, full_name) -> None:
    response = await create(api, identity={"full_name": full_name, "email": "a@example.com"})
    assert response.status_code == 422


@pytest.mark.parametrize("email", ["not-an-email", "${X}@example.com", "a;b@example.com"])
async def test_bad_email_is_refused(api, email) -> None:
    response = await create(api, identity={"full_name": "Alice", "email": email})
    assert response.status_code == 422


async def test_ten_kilobyte_name_is_refused(api) -> None:
    response = await create(api, name="a" * 10_000)
    assert response.status_code == 422
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0


async def test_letters_of_other_scripts_are_fine(api) -> None:
    response = await create(api, name="Jürgen O'Brien-Łukasz 2")
    assert response.status_code == 201
    assert response.json()["name"] == "Jürgen O'Brien-Łukasz 2"


@pytest.mark.parametrize(
    "password", ["Abcdefghij012345678;x", "short-but-valid", "Abcdefghij 0123456789", "é" * 24]
)
async def test_weak_or_unsafe_admin_password_is_refused_without_echoing_it(api, password) -> None:
    response = await create(api, password=password)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert password not in response.text
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0


async def test_bad_shared_settings_are_refused(make_api) -> None:
    api = await make_api(max_devices_cap=4)
    over = await create(api, shared={"enabled": True, "max_devices": 5})
    assert over.status_code == 422 and over.json()["cap"] == 4
    disabled = await create(api, shared={"enabled": False, "max_devices": 3})
    assert disabled.status_code == 422
    assert (await create(api, unknown_field=1)).status_code == 422
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0


async def test_duplicate_number_is_409(api) -> None:
    assert (await create(api)).status_code == 201
    again = await create(api, name="Bob")
    assert again.status_code == 409
    assert again.json()["type"] == "urn:shareline:problem:number-taken"
    assert (await api.get("/api/v1/extensions/100")).json()["name"] == "Alice"


async def test_two_concurrent_creates_give_one_201_and_one_409(api, licensing) -> None:
    first, second = await asyncio.gather(create(api), create(api, name="Bob"))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    assert (await api.get("/api/v1/extensions")).json()["total"] == 1
    assert licensing.holders("users") == {"ext:100"}


async def test_raising_max_devices_adds_slots_and_lowering_removes_the_highest(api) -> None:
    await create(api, shared={"enabled": True, "max_devices": 2})
    raised = await api.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 4}})
    assert auth_names(raised.json()) == ["100", "100_2", "100_3", "100_4"]
    await api.patch(
        "/api/v1/extensions/100/slots/100_2", json={"ring_mode": "distinctive", "tone": 2}
    )
    lowered = await api.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 2}})
    assert auth_names(lowered.json()) == ["100", "100_2"]
    assert lowered.json()["slots"][1]["ring_mode"] == "distinctive"
    disabled = await api.patch("/api/v1/extensions/100", json={"shared": {"enabled": False}})
    assert auth_names(disabled.json()) == ["100"]
    assert disabled.json()["shared"] == {"enabled": False, "max_devices": 1}
    contradictory = await api.patch(
        "/api/v1/extensions/100", json={"shared": {"enabled": False, "max_devices": 2}}
    )
    assert contradictory.status_code == 422
    assert contradictory.json()["type"] == "urn:shareline:problem:shared-settings-invalid"


async def test_patch_changes_name_identity_and_no_answer_rule(api) -> None:
    await create(api)
    response = await api.patch(
        "/api/v1/extensions/100",
        json={
            "name": "Alice S",
            "identity": {"full_name": "Alice Smith", "email": None},
            "no_answer": {"voicemail": True, "ring_seconds": 20},
        },
    )
    body = response.json()
    assert (body["name"], body["identity"]["email"], body["no_answer"]) == (
        "Alice S",
        None,
        {"voicemail": True, "ring_seconds": 20},
    )


async def test_bad_patch_changes_nothing(api) -> None:
    await create(api, shared={"enabled": True, "max_devices": 2})
    for patch in (
        {"name": "x\n[evil]"},
        {"password": "short;"},
        {"number": "101"},
        {"shared": {"max_devices": 0}},
        {"no_answer": {"ring_seconds": 9999}},
    ):
        response = await api.patch("/api/v1/extensions/100", json=patch)
        assert response.status_code == 422, patch
    body = (await api.get("/api/v1/extensions/100")).json()
    assert body["name"] == "Alice" and auth_names(body) == ["100", "100_2"]
    sheet = (await api.get("/api/v1/extensions/100/credentials")).json()
    assert sheet["slots"][0]["password"] == STRONG


async def test_password_rotation_applies_to_every_slot(api) -> None:
    await create(api, shared={"enabled": True, "max_devices": 2})
    rotated = "Zyxwvutsrq9876543210abc"
    response = await api.patch("/api/v1/extensions/100", json={"password": rotated})
    assert response.status_code == 200
    sheet = (await api.get("/api/v1/extensions/100/credentials")).json()
    assert {s["password"] for s in sheet["slots"]} == {rotated}


async def test_delete_removes_the_extension_and_frees_the_number(api) -> None:
    await create(api, shared={"enabled": True, "max_devices": 2})
    assert (await api.delete("/api/v1/extensions/100")).status_code == 204
    assert (await api.get("/api/v1/extensions/100")).status_code == 404
    assert (await api.get("/api/v1/extensions/100/slots")).status_code == 404
    assert (await create(api)).status_code == 201


async def test_unknown_extension_is_404_problem(api) -> None:
    for method, path in (
        ("GET", "/api/v1/extensions/555"),
        ("PATCH", "/api/v1/extensions/555"),
        ("DELETE", "/api/v1/extensions/555"),
        ("GET", "/api/v1/extensions/555/credentials"),
    ):
        response = await api.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, path
        assert response.json()["type"] == "urn:shareline:problem:extension-not-found"


async def test_every_write_is_audited_with_its_actor(api) -> None:
    await create(api)
    await api.patch("/api/v1/extensions/100", json={"name": "Alice B"})
    await api.delete("/api/v1/extensions/100")
    from sqlmodel import Session, select

    from services.extensions.tables import AuditEntry

    with Session(api.app.state.engine) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.actor, r.action, r.target) for r in rows] == [
        ("alice-admin", "extension.create", "100"),
        ("alice-admin", "extension.update", "100"),
        ("alice-admin", "extension.delete", "100"),
    ]


async def test_requests_without_a_service_token_are_refused(api) -> None:
    response = await api.get("/api/v1/extensions", headers={"X-Service-Token": ""})
    assert response.status_code == 401


async def test_a_viewer_may_not_read_sip_passwords(api) -> None:
    from services.common.service_tokens import issue
    from tests.extensions.conftest import SECRET

    await create(api)
    await api.post("/api/v1/telephony/commits")
    viewer = {
        "X-Service-Token": issue(
            SECRET, issuer="gateway", audience="extensions", user="val", role="viewer"
        )
    }
    sheet = await api.get("/api/v1/extensions/100/credentials", headers=viewer)
    assert sheet.status_code == 403 and STRONG not in sheet.text
    assert sheet.json()["required_role"] == "operator"
    file = await api.get("/api/v1/telephony/commits/1/files/pjsip_shareline.conf", headers=viewer)
    assert file.status_code == 403 and STRONG not in file.text
    assert (await api.get("/api/v1/extensions/100", headers=viewer)).status_code == 200
