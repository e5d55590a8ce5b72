"""The phone-facing path: promise 1, the Provisioning bad inputs, ETags, bans, tracking."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from pydantic import ValidationError

from services.aps.app import create_app
from services.aps.settings import Settings
from tests.aps.conftest import ApsHarness, aps_settings
from tests.aps.support import (
    PW100,
    SITE_PASSWORD,
    FakeExtensions,
    admin_headers,
    phone_headers,
    site,
)

DESK = "001565000001"
OTHER = "001565000002"


async def _two_phones(aps) -> None:
    assert (await aps.create(DESK, "yealink", "T46U", [(1, "100")])).status_code == 201
    assert (await aps.create(OTHER, "yealink", "T46U", [(1, "101")])).status_code == 201
    await aps.commit()


def _outside(response) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """What a scanner can compare: status, body, headers other than the request id."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")
    return response.status_code, response.content, tuple(headers)


async def test_no_wrong_or_other_devices_credentials_get_one_identical_401(aps) -> None:
    await _two_phones(aps)
    other_password = aps.device_password(OTHER)
    attempts = [
        phone_headers(),  # no credentials
        phone_headers("provision", "wrong"),
        phone_headers(DESK, "not-the-device-password"),
        phone_headers(OTHER, other_password),  # another device's credentials
        phone_headers("provision", SITE_PASSWORD[:-1]),
    ]
    answers = [await aps.client.get(f"/provision/{DESK}.cfg", headers=h) for h in attempts]
    answers.append(await _digest_get(aps, f"/provision/{DESK}.cfg", OTHER, other_password))
    unknown = await aps.client.get("/provision/0015650000ff.cfg", headers=site())
    answers.append(unknown)  # an unknown MAC with the site credential looks the same
    outside = {_outside(a) for a in answers}
    assert len(outside) == 1
    status, body, header_items = outside.pop()
    headers = dict(header_items)
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="shareline"'
    assert headers["content-type"] == "application/problem+json"
    for secret in (PW100, SITE_PASSWORD, other_password, aps.device_password(DESK)):
        assert secret.encode() not in body


async def test_site_credential_opens_the_first_fetch_then_only_the_device_credential(aps) -> None:
    await _two_phones(aps)
    first = await aps.client.get(f"/provision/{DESK}.cfg", headers=site())
    assert first.status_code == 200
    own = aps.device_password(DESK)
    assert f"static.auto_provision.server.username = {DESK}" in first.text
    assert f"static.auto_provision.server.password = {own}" in first.text
    assert (await aps.client.get(f"/api/v1/aps/devices/{DESK}")).json()["enrolled_at"] is None

    second = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    assert second.status_code == 200
    device = (await aps.client.get(f"/api/v1/aps/devices/{DESK}")).json()
    assert device["enrolled_at"] is not None

    after = await aps.client.get(f"/provision/{DESK}.cfg", headers=site())
    assert after.status_code == 401, "once enrolled, the site credential no longer opens it"
    assert (await aps.client.get(f"/provision/{OTHER}.cfg", headers=site())).status_code == 200


async def _digest_get(aps, path: str, user: str, password: str, **headers: str):
    """Fetch as a Digest-speaking phone: take the challenge, answer it."""
    challenge = (await aps.client.get(path, headers=phone_headers(**headers))).headers
    asked = re.fullmatch(
        r'Digest realm="shareline", qop="auth", algorithm=MD5, nonce="([^"]+)"',
        challenge["www-authenticate"],
    )
    # Under a Basic challenge, a phone that insists on Digest uses a nonce it got before.
    nonce = asked.group(1) if asked else aps.app.state.nonces.current()
    ha1 = _md5(f"{user}:shareline:{password}")
    ha2 = _md5(f"GET:{path}")
    response = _md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
    authorization = (
        f'Digest username="{user}", realm="shareline", nonce="{nonce}", uri="{path}", '
        f'qop=auth, nc=00000001, cnonce="c0ffee", response="{response}", algorithm=MD5'
    )
    return await aps.client.get(path, headers=phone_headers(Authorization=authorization, **headers))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


async def test_http_digest_works_for_site_and_device_credentials(make_aps) -> None:
    aps = await make_aps(provisioning_challenge="digest")
    await _two_phones(aps)
    asked = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers())
    assert asked.headers["www-authenticate"].startswith('Digest realm="shareline", qop="auth"')
    first = await _digest_get(aps, f"/provision/{DESK}.cfg", "provision", SITE_PASSWORD)
    assert first.status_code == 200
    own = aps.device_password(DESK)
    mine = await _digest_get(aps, f"/provision/{DESK}.cfg", DESK, own)
    assert mine.status_code == 200
    assert (await aps.client.get(f"/api/v1/aps/devices/{DESK}")).json()["enrolled_at"]
    wrong = await _digest_get(aps, f"/provision/{DESK}.cfg", DESK, own + "x")
    assert wrong.status_code == 401
    # A response computed for another file does not open this one.
    authorization = mine.request.headers["authorization"]
    replayed = await aps.client.get(
        f"/provision/{DESK}.boot", headers=phone_headers(Authorization=authorization)
    )
    assert replayed.status_code == 401
    forged_nonce = authorization.replace('nonce="', 'nonce="1', 1)
    stale = await aps.client.get(
        f"/provision/{DESK}.cfg", headers=phone_headers(Authorization=forged_nonce)
    )
    assert stale.status_code == 401


async def test_common_files_need_a_provisioning_credential_and_carry_no_secret(aps) -> None:
    await _two_phones(aps)
    assert (
        await aps.client.get("/provision/y000000000108.cfg", headers=phone_headers())
    ).status_code == 401
    common = await aps.client.get("/provision/y000000000108.cfg", headers=site())
    assert common.status_code == 200
    assert PW100 not in common.text and SITE_PASSWORD not in common.text
    by_device = await aps.client.get(
        "/provision/Y000000000108.CFG", headers=phone_headers(DESK, aps.device_password(DESK))
    )
    assert by_device.status_code == 200


async def test_etag_and_304(aps) -> None:
    await _two_phones(aps)
    own = aps.device_password(DESK)
    first = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    etag = first.headers["etag"]
    conditional = phone_headers(DESK, own, **{"If-None-Match": etag})
    again = await aps.client.get(f"/provision/{DESK.upper()}.cfg", headers=conditional)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    stale = await aps.client.get(
        f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own, **{"If-None-Match": '"old"'})
    )
    assert stale.status_code == 200
    # An unchanged device keeps its ETag across commits; a changed one gets a new one.
    aps.extensions.set_slots(
        "101", [{"auth_name": "101", "index": 1, "ring_mode": "ring", "tone": None}]
    )
    await aps.commit()
    same = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    assert same.headers["etag"] == etag
    await aps.client.patch(f"/api/v1/aps/devices/{DESK}", json={"label": "Moved"})
    await aps.client.patch(f"/api/v1/aps/devices/{DESK}", json={"time_zone": "Asia/Tokyo"})
    await aps.commit()
    changed = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    assert changed.headers["etag"] != etag
    assert "local_time.time_zone = +9" in changed.text


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/provision/../aps.db", {404}),
        ("/provision/%2e%2e%2faps.db", {404}),
        ("/provision/..%2f..%2fetc%2fpasswd", {404}),
        ("/provision/%2e%2e", {400, 404}),
        ("/provision/001565000001.cfg%00", {400}),
        ("/provision/001565000001%00.cfg", {400}),
        ("/provision/0015650000010.cfg", {404}),  # 13 hex digits
        ("/provision/00156500000g.cfg", {404}),  # not hex
        ("/provision/010000000001.cfg", {404}),  # multicast
        ("/provision/000000000000.boot", {404}),  # all zero
        ("/provision/ffffffffffff.cfg", {404}),  # broadcast
        ("/provision/.cfg", {400}),
        ("/provision/001565000001.cfg;rm", {400}),
    ],
)
async def test_malformed_names_never_reach_a_file(aps, path: str, statuses: set[int]) -> None:
    await _two_phones(aps)
    response = await aps.client.get(path, headers=site())
    assert response.status_code in statuses, (path, response.status_code)
    assert response.headers["content-type"] == "application/problem+json"
    assert PW100 not in response.text


async def test_a_user_agent_naming_another_mac_gets_the_401(aps) -> None:
    await _two_phones(aps)
    ua = "Yealink SIP-T46U 108.86.0.20 00:15:65:00:00:02"
    response = await aps.client.get(f"/provision/{DESK}.cfg", headers=site(user_agent=ua))
    assert response.status_code == 401
    own_ua = "Yealink SIP-T46U 108.86.0.20 00:15:65:00:00:01"
    assert (
        await aps.client.get(f"/provision/{DESK}.cfg", headers=site(user_agent=own_ua))
    ).status_code == 200


async def test_a_burst_of_misses_bans_the_address_and_is_logged(aps, caplog) -> None:
    await _two_phones(aps)
    caplog.set_level(logging.WARNING, logger="shareline.aps.guard")
    statuses = []
    for n in range(1000):
        mac = f"001565{n + 0x100:06x}"
        response = await aps.client.get(f"/provision/{mac}.cfg", headers=site("198.51.100.7"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    banned = await aps.client.get(f"/provision/{OTHER}.cfg", headers=site("198.51.100.7"))
    assert banned.status_code == 429, "even a good request waits out the ban"
    assert int(banned.headers["retry-after"]) > 500
    assert banned.headers["content-type"] == "application/problem+json"
    elsewhere = await aps.client.get(f"/provision/{OTHER}.cfg", headers=site("198.51.100.8"))
    assert elsewhere.status_code == 200
    assert any("198.51.100.7" in r.getMessage() for r in caplog.records)


async def test_without_a_gateway_token_x_forwarded_for_is_not_trusted(aps) -> None:
    from services.common.service_tokens import issue
    from services.common.settings import LOCAL_SERVICE_SECRET

    await _two_phones(aps)
    token = issue(LOCAL_SERVICE_SECRET, issuer="extensions", audience="aps")
    for n in range(25):
        headers = {"X-Service-Token": token, "X-Forwarded-For": f"203.0.113.{n}"}
        last = await aps.client.get(f"/provision/0015650{n + 0x100:05x}.cfg", headers=headers)
    assert last.status_code == 429, "the misses all counted against the real peer"


async def test_fetch_tracking_shows_address_agent_and_whether_current(aps) -> None:
    await _two_phones(aps)
    ua = "Yealink SIP-T46U 108.86.0.20 00:15:65:00:00:01"
    await aps.client.get(f"/provision/{DESK}.cfg", headers=site("192.0.2.55", user_agent=ua))
    fetch = (await aps.client.get(f"/api/v1/aps/devices/{DESK}")).json()["last_fetch"]
    assert fetch["address"] == "192.0.2.55"
    assert fetch["user_agent"] == ua
    assert fetch["revision"] == 1 and fetch["current"] is True
    await aps.client.patch(f"/api/v1/aps/devices/{DESK}", json={"label": "New"})
    await aps.commit()
    fetch = (await aps.client.get(f"/api/v1/aps/devices/{DESK}")).json()["last_fetch"]
    assert fetch["current"] is False
    listing = {d["id"]: d for d in (await aps.client.get("/api/v1/aps/devices")).json()}
    assert listing[OTHER]["last_fetch"] is None


async def test_auth_can_be_switched_off_in_local_mode_only(
    lifespan_client, caplog, tmp_path
) -> None:
    with pytest.raises(ValidationError):
        Settings(
            mode="production",
            provisioning_auth=False,
            service_token_secret="x" * 40,
            provisioning_password="y" * 20,
        )
    with pytest.raises(ValidationError):
        Settings(mode="production", service_token_secret="x" * 40)  # default site password
    settings = aps_settings(tmp_path, provisioning_auth=False)
    extensions = FakeExtensions()
    app = create_app(settings, extensions=extensions.client(settings))
    logging.getLogger().addHandler(caplog.handler)  # the app replaced the root handlers
    caplog.set_level(logging.WARNING, logger="shareline.aps")
    client = await lifespan_client(app, headers=admin_headers())
    assert any("AUTHENTICATION IS OFF" in r.getMessage() for r in caplog.records)
    aps = ApsHarness(app, client, settings, extensions)
    await _two_phones(aps)
    assert (
        await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers())
    ).status_code == 200


async def test_a_renewed_credential_reenrols_the_device_at_the_next_commit(aps) -> None:
    await _two_phones(aps)
    old = aps.device_password(DESK)
    assert (
        await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, old))
    ).status_code == 200
    renewed = await aps.client.post(f"/api/v1/aps/devices/{DESK}/credential")
    assert renewed.status_code == 200 and renewed.json()["enrolled_at"] is None
    assert old not in renewed.text
    new = aps.device_password(DESK)
    assert new != old
    assert (await aps.commit())["changed"] == [DESK]
    assert (
        await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, old))
    ).status_code == 401
    reset_phone = await aps.client.get(f"/provision/{DESK}.cfg", headers=site())
    assert reset_phone.status_code == 200
    assert f"static.auto_provision.server.password = {new}" in reset_phone.text


async def test_the_phone_path_needs_a_service_token(aps) -> None:
    await _two_phones(aps)
    for token in ("", "forged"):
        response = await aps.client.get(
            f"/provision/{DESK}.cfg", headers={**site(), "X-Service-Token": token}
        )
        assert response.status_code == 401
        assert PW100 not in response.text
        assert "service token" in response.json()["detail"]


async def test_phone_fetches_are_counted_by_vendor_and_outcome(aps) -> None:
    await _two_phones(aps)
    own = aps.device_password(DESK)
    first = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    etag = {"If-None-Match": first.headers["etag"]}
    await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own, **etag))
    common = await aps.client.get("/provision/y000000000108.cfg", headers=site())
    assert common.status_code == 200
    await aps.client.get("/provision/00156500ffff.cfg", headers=phone_headers(DESK, own))
    text = (await aps.client.get("/metrics")).text
    for vendor, outcome in [
        ("yealink", "served"),
        ("yealink", "not-modified"),
        ("unknown", "unauthorized"),
    ]:
        line = f'shareline_provision_fetches_total{{outcome="{outcome}",vendor="{vendor}"}}'
        assert line in text, line
    assert 'shareline_provision_fetches_total{outcome="served",vendor="yealink"} 2.0' in text
