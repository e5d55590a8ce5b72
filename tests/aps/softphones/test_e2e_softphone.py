"""Use case 1's softphone through the gateway, with real processes and a real SMTP server.

Extension 100 (two slots, identity e-mail) is committed; a softphone gets 100_2 and is
APS-committed; its QR code is e-mailed; the code in the mail opens the account once, as
Linphone fetches it; nothing secret lands in the QR, the page or any service's log.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from services.aps.softphones.account import LPCONFIG_NS
from tests.aps.softphones.smtp import SmtpServer, smtp_server
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

PASSWORD_100 = "Vx7mQ2kLp9TrW4nZb8Hd3Ys"
ALICE = {
    "number": "100",
    "name": "Alice Martin",
    "identity": {"full_name": "Alice Martin", "email": "alice@example.com"},
    "password": PASSWORD_100,
    "shared": {"enabled": True, "max_devices": 2},
}
LINPHONE = {"X-Linphone-Provisioning": "1", "User-Agent": "LinphoneAndroid/5.2.5 (e2e)"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Suite, SmtpServer]]:
    root = tmp_path_factory.mktemp("softphone-e2e")
    with smtp_server(root) as smtp:
        suite = Suite(
            root,
            extra_env={
                "SHARELINE_SMTP_HOST": "127.0.0.1",
                "SHARELINE_SMTP_PORT": str(smtp.port),
                "SHARELINE_SMTP_SENDER": "PBX <pbx@example.com>",
            },
        )
        suite.start_all()
        try:
            yield suite, smtp
        finally:
            suite.stop_all()


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def entries(xml: bytes) -> dict[tuple[str, str], str]:
    root = SafeET.fromstring(xml)
    return {
        (section.get("name"), entry.get("name")): entry.text or ""
        for section in root.findall(f"{{{LPCONFIG_NS}}}section")
        for entry in section.findall(f"{{{LPCONFIG_NS}}}entry")
    }


def test_a_softphone_joins_extension_100_by_an_emailed_one_time_qr_code(
    running: tuple[Suite, SmtpServer],
) -> None:
    suite, smtp = running
    with suite.admin_client() as admin:
        ok(admin.post("/api/v1/extensions", json=ALICE), 201)
        ok(admin.post("/api/v1/telephony/commits"), 201)
        device = ok(
            admin.post(
                "/api/v1/aps/devices",
                json={
                    "vendor": "softphone",
                    "model": "linphone",
                    "lines": [{"line": 1, "auth_name": "100_2"}],
                },
            ),
            201,
        )["id"]
        held = ok(
            admin.get(
                "/api/v1/license/allocations",
                params={"pool": "softphones", "holder": f"softphone:{device}"},
            )
        )
        assert held["total"] == 1
        ok(admin.post("/api/v1/aps/commits"), 201)
        sent = ok(admin.post(f"/api/v1/aps/devices/{device}/qr/send"))
        assert sent["sent_to"] == "alice@example.com"

        [message] = smtp.messages()
        assert message["X-RcptTo"] == "alice@example.com"
        png = next(p for p in message.walk() if p.get_content_type() == "image/png")
        url = decode(Image.open(io.BytesIO(png.get_payload(decode=True))))[0].data.decode()
        assert url.startswith(suite.gateway + "/provision/softphone/")
        token = url.rsplit("/", 1)[1]
        assert PASSWORD_100 not in url and PASSWORD_100 not in message.as_string()

        page = httpx.get(url, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert PASSWORD_100 not in page.text and token not in page.text

        account = httpx.get(url, headers=LINPHONE)
        assert account.status_code == 200, account.text
        found = entries(account.content)
        assert found[("auth_info_0", "username")] == "100_2"
        assert found[("auth_info_0", "passwd")] == PASSWORD_100
        assert found[("proxy_0", "reg_proxy")] == "<sip:127.0.0.1:5060;transport=udp>"
        assert found[("proxy_0", "reg_identity")] == '"Alice Martin" <sip:100_2@127.0.0.1>'

        again = httpx.get(url, headers=LINPHONE)
        assert again.status_code == 410
        assert again.headers["content-type"] == "application/problem+json"
        assert httpx.post(url).status_code == 410

        status = ok(admin.get(f"/api/v1/aps/devices/{device}/qr"))
        assert status["outstanding"] is False
        assert status["redeemed_user_agent"] == "LinphoneAndroid/5.2.5 (e2e)"
        assert status["redeemed_address"] == "127.0.0.1"

    logs = suite.logs()
    assert "softphone link redeemed" in logs
    assert "/provision/softphone/sha256:" in logs  # the gateway's and APS's access lines
    assert token not in logs
    assert PASSWORD_100 not in logs
