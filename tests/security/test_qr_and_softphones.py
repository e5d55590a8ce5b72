# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
"""SECURITY.md catalogue, "QR and softphones": one-time links through the APS app."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar.pyzbar import decode

from services.aps.softphones.account import account_for_slot, render_json, render_linphone
from services.extensions import validation
from tests.aps.softphones.conftest import PUBLIC, Aps, aps  # noqa: F401  (fixture)
from tests.aps.softphones.support import PASSWORD, SIP_HOST, TELEPHONY, rendered_logs
from tests.aps.softphones.test_documents import sections, telephony

PROBLEM = "application/problem+json"
LINK = "/provision/softphone/"


async def _issue(aps: Aps) -> tuple[str, bytes]:
    device = aps.softphone()
    response = await aps.client.post(f"/api/v1/aps/devices/{device}/qr")
    assert response.status_code == 200, response.text
    payload = decode(Image.open(io.BytesIO(response.content)))[0].data
    token = payload.decode().removeprefix(f"{PUBLIC}{LINK}")
    return token, payload


def _problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"urn:shareline:problem:{slug}"
    assert PASSWORD not in response.text


async def test_second_redemption_is_refused(aps: Aps) -> None:
    token, _ = await _issue(aps)
    assert (await aps.client.post(LINK + token)).status_code == 200
    _problem(await aps.client.post(LINK + token), 410, "qr-token-used")


async def test_two_concurrent_redemptions_exactly_one_succeeds(aps: Aps) -> None:
    token, _ = await _issue(aps)
    answers = await asyncio.gather(*(aps.client.post(LINK + token) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 410]
    assert sum(PASSWORD in a.text for a in answers) == 1


async def test_expired_token_is_410(aps: Aps) -> None:
    token, _ = await _issue(aps)
    aps.clock.advance(aps.runtime.settings.qr_token_ttl_seconds)
    _problem(await aps.client.post(LINK + token), 410, "qr-token-expired")


async def test_altered_token_is_404(aps: Aps) -> None:
    token, _ = await _issue(aps)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    _problem(await aps.client.post(LINK + altered), 404, "qr-token-unknown")
    assert (await aps.client.post(LINK + token)).status_code == 200, "the real one still works"


@pytest.mark.parametrize(
    "preview",
    [{}, {"User-Agent": "Slackbot-LinkExpanding 1.0"}, {"User-Agent": "Microsoft Office/16.0"}],
    ids=["plain", "slack-preview", "mail-scanner"],
)
async def test_a_plain_get_preview_does_not_consume_the_token(
    aps: Aps, preview: dict[str, str]
) -> None:
    token, _ = await _issue(aps)
    page = await aps.client.get(LINK + token, headers=preview)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert PASSWORD not in page.text and token not in page.text
    redeemed = await aps.client.post(LINK + token, headers={"Accept": "application/json"})
    assert redeemed.status_code == 200
    assert redeemed.json()["password"] == PASSWORD


async def test_the_qr_payload_and_the_logs_carry_no_sip_password(
    aps: Aps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, payload = await _issue(aps)
    assert PASSWORD.encode() not in payload
    assert payload == f"{PUBLIC}{LINK}{token}".encode(), "nothing but the one-time link"
    assert (await aps.client.post(LINK + token)).status_code == 200
    logs = rendered_logs(caplog.records)
    assert "softphone" in logs
    assert PASSWORD not in logs and token not in logs


# --- Property: accepted names and passwords parse back from the account documents ---------

names = st.text(
    st.characters(categories=["L", "Mn", "Mc", "Nd"], include_characters=" '-._"),
    min_size=1,
    max_size=64,
).filter(lambda s: _accepted(validation.check_display_name, s))
passwords = st.from_regex(validation.PASSWORD_RE, fullmatch=True)


def _accepted(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(name=names, password=passwords)
def test_accepted_names_and_passwords_parse_back_from_both_account_documents(
    name: str, password: str
) -> None:
    document = copy.deepcopy(TELEPHONY)
    document["extensions"][0].update(name=name, password=password)
    account = account_for_slot(telephony(document), "100_2")
    assert account is not None
    parsed = sections(render_linphone(account, register_expiry_seconds=600))
    assert set(parsed) == {"auth_info_0", "proxy_0", "sip", "misc"}
    assert parsed["auth_info_0"]["passwd"] == password
    assert parsed["auth_info_0"]["username"] == "100_2"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    assert parsed["proxy_0"]["reg_identity"] == f'"{escaped}" <sip:100_2@{SIP_HOST}>'
    as_json = json.loads(render_json(account))
    assert (as_json["display_name"], as_json["password"]) == (name, password)
    assert as_json["caller_id"] == f'"{name}" <100>'
