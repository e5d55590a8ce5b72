"""The QR endpoints and the one-time link, through the APS app (ASGI, real database)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

import defusedxml.ElementTree as SafeET
import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlmodel import select

from services.aps.softphones import service
from services.aps.softphones.account import LPCONFIG_NS
from services.aps.softphones.models import SoftphoneToken
from services.common.db import READ, unit_of_work
from tests.aps.softphones.conftest import PUBLIC, Aps
from tests.aps.softphones.support import PASSWORD, SIP_HOST, add_device, rendered_logs

pytestmark = pytest.mark.usefixtures("caplog")

LINPHONE = {"X-Linphone-Provisioning": "1", "User-Agent": "LinphoneAndroid/5.2.5 (Pixel 7)"}
PREFIX = f"{PUBLIC}/provision/softphone/"


async def issue(aps: Aps, device_id: str, accept: str = "image/png") -> str:
    response = await aps.client.post(
        f"/api/v1/aps/devices/{device_id}/qr", headers={"Accept": accept}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    url = decode(Image.open(io.BytesIO(response.content)))[0].data.decode()
    assert url.startswith(PREFIX)
    return url.removeprefix(PREFIX)


def link(token: str) -> str:
    return f"/provision/softphone/{token}"


async def status(aps: Aps, device_id: str) -> dict:
    response = await aps.client.get(f"/api/v1/aps/devices/{device_id}/qr")
    assert response.status_code == 200
    return response.json()


def problem(response, status_code: int, slug: str) -> dict:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:shareline:problem:{slug}"
    assert PASSWORD not in response.text
    return body


async def test_the_qr_code_carries_only_the_link_and_linphone_redeems_it_once(
    aps: Aps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    device = aps.softphone()
    token = await issue(aps, device)
    assert len(token) == 43 and PASSWORD not in token
    first = await aps.client.get(link(token), headers=LINPHONE)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/xml")
    assert first.headers["cache-control"] == "no-store"
    root = SafeET.fromstring(first.content)
    entries = {
        (s.get("name"), e.get("name")): e.text
        for s in root.findall(f"{{{LPCONFIG_NS}}}section")
        for e in s.findall(f"{{{LPCONFIG_NS}}}entry")
    }
    assert entries[("auth_info_0", "username")] == "100_2"
    assert entries[("auth_info_0", "passwd")] == PASSWORD
    assert entries[("proxy_0", "reg_proxy")] == f"<sip:{SIP_HOST}:5060;transport=udp>"
    second = await aps.client.get(link(token), headers=LINPHONE)
    problem(second, 410, "qr-token-used")
    again = await aps.client.post(link(token))
    problem(again, 410, "qr-token-used")
    logs = rendered_logs(caplog.records)
    assert "softphone link redeemed" in logs
    assert token not in logs and PASSWORD not in logs


async def test_a_browser_or_link_preview_gets_a_page_and_the_link_stays_usable(aps: Aps) -> None:
    token = await issue(aps, aps.softphone())
    for headers in ({}, {"User-Agent": "Slackbot-LinkExpanding 1.0"}, {"Accept": "text/html"}):
        page = await aps.client.get(link(token), headers=headers)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "softphone" in page.text.lower() and "scan" in page.text.lower()
        assert token not in page.text and PASSWORD not in page.text and "100_2" not in page.text
    head = await aps.client.head(link(token))
    assert head.status_code == 200 and head.content == b""
    assert (await status(aps, "sp-00000000000000000001"))["outstanding"] is True
    redeemed = await aps.client.post(link(token), headers={"Accept": "application/json"})
    assert redeemed.status_code == 200
    assert json.loads(redeemed.content)["password"] == PASSWORD


async def test_post_answers_json_or_linphone_xml_by_accept_or_format(aps: Aps) -> None:
    device = aps.softphone()
    cases = [
        ({"Accept": "application/json"}, "", "application/json"),
        ({"Accept": "text/xml"}, "", "application/xml"),
        ({}, "?format=linphone", "application/xml"),
        ({"Accept": "application/xml"}, "?format=json", "application/json"),
        ({}, "", "application/json"),
    ]
    for headers, query, media in cases:
        token = await issue(aps, device)
        response = await aps.client.post(link(token) + query, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media)
        assert PASSWORD in response.text


async def test_an_unacceptable_redemption_is_406_and_leaves_the_link_usable(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    problem(
        await aps.client.post(link(token), headers={"Accept": "text/html"}), 406, "not-acceptable"
    )
    problem(await aps.client.post(link(token) + "?format=yaml"), 422, "validation-error")
    assert (await aps.client.post(link(token))).status_code == 200


async def test_the_qr_code_comes_as_svg_by_accept_and_406_issues_nothing(aps: Aps) -> None:
    device = aps.softphone()
    svg = await aps.client.post(
        f"/api/v1/aps/devices/{device}/qr", headers={"Accept": "image/svg+xml"}
    )
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    assert (await aps.client.delete(f"/api/v1/aps/devices/{device}/qr")).status_code == 204
    refused = await aps.client.post(
        f"/api/v1/aps/devices/{device}/qr", headers={"Accept": "application/json"}
    )
    problem(refused, 406, "not-acceptable")
    assert (await status(aps, device))["outstanding"] is False


async def test_a_new_link_replaces_the_earlier_one(aps: Aps) -> None:
    device = aps.softphone()
    first = await issue(aps, device)
    second = await issue(aps, device)
    problem(await aps.client.post(link(first)), 410, "qr-token-revoked")
    problem(await aps.client.get(link(first)), 410, "qr-token-revoked")
    assert (await aps.client.post(link(second))).status_code == 200


async def test_an_expired_link_is_410_and_an_altered_one_404(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    altered = token[:-1] + ("x" if token[-1] != "x" else "y")
    problem(await aps.client.post(link(altered)), 404, "qr-token-unknown")
    problem(await aps.client.get(link(altered)), 404, "qr-token-unknown")
    problem(await aps.client.get(link("A" * 42 + "%00")), 404, "qr-token-unknown")
    assert (await aps.client.get(link("..%2f..%2fetc"))).status_code == 404
    aps.clock.advance(aps.runtime.settings.qr_token_ttl_seconds)
    problem(await aps.client.get(link(token), headers=LINPHONE), 410, "qr-token-expired")
    problem(await aps.client.get(link(token)), 410, "qr-token-expired")


async def test_the_admin_sees_the_outstanding_link_then_who_redeemed_it(aps: Aps) -> None:
    device = aps.softphone()
    before = await status(aps, device)
    assert before["outstanding"] is False and before["redeemed_at"] is None
    token = await issue(aps, device)
    outstanding = await status(aps, device)
    assert outstanding["outstanding"] is True
    assert outstanding["expires_at"].startswith("2026-11-26T08:45:00")
    aps.clock.advance(60)
    response = await aps.client.get(
        link(token), headers={**LINPHONE, "X-Forwarded-For": "203.0.113.9"}
    )
    assert response.status_code == 200
    after = await status(aps, device)
    assert after["outstanding"] is False
    assert after["redeemed_at"].startswith("2026-11-26T08:31:00")
    assert after["redeemed_user_agent"] == "LinphoneAndroid/5.2.5 (Pixel 7)"
    assert after["redeemed_address"] == "203.0.113.9"
    assert token not in json.dumps(after)


async def test_qr_routes_refuse_unknown_devices_and_hardware_phones(aps: Aps) -> None:
    problem(
        await aps.client.post("/api/v1/aps/devices/sp-ffffffffffffffffffff/qr"),
        404,
        "device-not-found",
    )
    add_device(aps.engine, "001565aabbcc", "101", vendor="yealink", model="T46S")
    problem(await aps.client.post("/api/v1/aps/devices/001565aabbcc/qr"), 409, "not-a-softphone")
    problem(await aps.client.get("/api/v1/aps/devices/001565aabbcc/qr"), 409, "not-a-softphone")
    problem(
        await aps.client.post("/api/v1/aps/devices/00:15:65:AA:BB:CC/qr"), 409, "not-a-softphone"
    )
    problem(await aps.client.post("/api/v1/aps/devices/not-a-device/qr"), 404, "device-not-found")


async def test_without_an_aps_commit_the_softphone_gets_no_link(aps: Aps) -> None:
    device = aps.softphone(commit=False)
    body = problem(
        await aps.client.post(f"/api/v1/aps/devices/{device}/qr"),
        409,
        "softphone-slot-not-committed",
    )
    assert "commit" in body["detail"]
    assert (await status(aps, device))["outstanding"] is False


async def test_a_slot_gone_from_the_telephony_commit_refuses_and_keeps_the_link(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    slots = aps.extensions.document["extensions"][0]["slots"]
    saved = list(slots)
    slots[:] = [s for s in slots if s["auth_name"] != "100_2"]
    body = problem(
        await aps.client.get(link(token), headers=LINPHONE), 409, "softphone-slot-not-committed"
    )
    assert "100_2" in body["detail"] and "telephony" in body["detail"]
    slots[:] = saved
    assert (await aps.client.get(link(token), headers=LINPHONE)).status_code == 200


async def test_extensions_down_is_503_and_the_link_survives(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    aps.extensions.down = True
    body = problem(await aps.client.post(link(token)), 503, "service-unavailable")
    assert body["service"] == "extensions"
    aps.extensions.down = False
    assert (await aps.client.post(link(token))).status_code == 200


async def test_routes_need_a_service_token(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    bare = {"X-Service-Token": ""}
    problem(
        await aps.client.post(f"/api/v1/aps/devices/{device}/qr", headers=bare), 401, "unauthorized"
    )
    problem(await aps.client.post(link(token), headers=bare), 401, "unauthorized")
    assert (await aps.client.post(link(token))).status_code == 200


async def test_access_logs_name_the_link_by_a_hash_prefix_only(
    aps: Aps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    device = aps.softphone()
    token = await issue(aps, device)
    await aps.client.get(link(token))
    await aps.client.get(link(token), headers=LINPHONE)
    await aps.client.get(link(token), headers=LINPHONE)
    logs = rendered_logs(caplog.records)
    assert "/provision/softphone/sha256:" in logs
    assert token not in logs and PASSWORD not in logs


async def test_deleting_the_softphone_ends_its_link(aps: Aps) -> None:
    device = aps.softphone()
    token = await issue(aps, device)
    assert (await aps.client.delete(f"/api/v1/aps/devices/{device}")).status_code == 204
    problem(await aps.client.post(link(token)), 404, "qr-token-unknown")


async def test_the_routes_are_documented_with_their_problems(aps: Aps) -> None:
    doc = (await aps.client.get("/openapi.json")).json()
    qr_paths = doc["paths"]["/api/v1/aps/devices/{device_id}/qr"]
    assert set(qr_paths) == {"post", "get", "delete"}
    assert set(qr_paths["post"]["responses"]) >= {"200", "404", "406", "409"}
    assert set(doc["paths"]["/api/v1/aps/devices/{device_id}/qr/send"]["post"]["responses"]) >= {
        "200",
        "404",
        "409",
        "502",
        "503",
    }
    link_paths = doc["paths"]["/provision/softphone/{token}"]
    assert set(link_paths) == {"get", "post"}
    assert set(link_paths["post"]["responses"]) >= {"200", "404", "406", "409", "410"}


async def test_of_concurrent_issuings_exactly_one_link_stays_outstanding(aps: Aps) -> None:
    device = aps.softphone()
    barrier = threading.Barrier(8)
    issued: list[str] = []

    def attempt() -> None:
        barrier.wait()
        issued.append(service.issue_link(aps.engine, aps.runtime, device, actor="admin").token)

    workers = [threading.Thread(target=attempt) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(issued) == 8
    with unit_of_work(aps.engine, READ) as session:
        rows = session.exec(select(SoftphoneToken)).all()
    assert len(rows) == 8
    assert sum(1 for row in rows if row.revoked_at is None) == 1


async def test_of_ten_simultaneous_redemptions_one_gets_the_account(aps: Aps) -> None:
    token = await issue(aps, aps.softphone())
    answers = await asyncio.gather(*(aps.client.post(link(token)) for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [200] + [410] * 9
    assert sum(PASSWORD in a.text for a in answers) == 1
