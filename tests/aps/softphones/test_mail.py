"""E-mailing the QR code to the extension's identity, through a real SMTP server process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from email.message import Message

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlmodel import select

from services.aps.softphones import tokens
from services.aps.softphones.models import SoftphoneToken
from services.aps.softphones.settings import SoftphoneSettings
from services.common.db import READ, unit_of_work
from tests.aps.softphones.conftest import PUBLIC, Aps
from tests.aps.softphones.smtp import SmtpServer, smtp_server
from tests.aps.softphones.support import PASSWORD
from tests.support.suite import free_port

PREFIX = f"{PUBLIC}/provision/softphone/"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path_factory.mktemp("smtp")) as server:
        yield server


@pytest.fixture(scope="module")
def tiny_smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """A server that refuses any message over 200 bytes (RFC 1870 SIZE)."""
    with smtp_server(tmp_path_factory.mktemp("tiny"), max_size=200) as server:
        yield server


def use_smtp(aps: Aps, port: int) -> None:
    aps.runtime.settings = SoftphoneSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_sender="PBX <pbx@example.com>",
        smtp_timeout_seconds=5,
    )


def parts(message: Message) -> dict[str, Message]:
    return {part.get_content_type(): part for part in message.walk()}


def token_rows(aps: Aps) -> list[SoftphoneToken]:
    with unit_of_work(aps.engine, READ) as session:
        return list(session.exec(select(SoftphoneToken)).all())


async def test_the_mail_reaches_the_identity_with_an_inline_qr_of_the_link(
    aps: Aps, smtp: SmtpServer
) -> None:
    smtp.clear()
    use_smtp(aps, smtp.port)
    device = aps.softphone()
    sent = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["sent_to"] == "alice@example.com"
    [message] = smtp.messages()
    assert message["X-RcptTo"] == "alice@example.com"
    assert message["To"] == "alice@example.com"
    assert "100" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    found = parts(message)
    assert set(found) >= {"text/plain", "multipart/related", "text/html", "image/png"}
    png = found["image/png"]
    cid = png["Content-ID"].strip("<>")
    html = found["text/html"].get_payload(decode=True).decode()
    assert f'src="cid:{cid}"' in html
    url = decode(Image.open(io.BytesIO(png.get_payload(decode=True))))[0].data.decode()
    assert url.startswith(PREFIX)
    text = found["text/plain"].get_payload(decode=True).decode()
    assert url in text and "once" in text
    assert PASSWORD not in message.as_string()
    status = (await aps.client.get(f"/api/v1/aps/devices/{device}/qr")).json()
    assert status["outstanding"] is True and status["sent_to"] == "alice@example.com"
    redeemed = await aps.client.post(url.removeprefix(PUBLIC))
    assert redeemed.status_code == 200 and redeemed.json()["password"] == PASSWORD


async def test_smtp_down_is_502_and_the_link_is_withdrawn(
    aps: Aps, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_smtp(aps, free_port())  # nothing listens there
    device = aps.softphone()
    earlier = (await aps.client.post(f"/api/v1/aps/devices/{device}/qr")).status_code
    assert earlier == 200
    known = tokens.new_token()
    monkeypatch.setattr(tokens, "new_token", lambda: known)
    failed = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert failed.status_code == 502
    assert failed.headers["content-type"] == "application/problem+json"
    body = failed.json()
    assert body["type"] == "urn:shareline:problem:mail-failed"
    assert "127.0.0.1" in body["detail"] and "withdrawn" in body["detail"]
    gone = await aps.client.post(f"/provision/softphone/{known}")
    assert gone.status_code == 410
    assert gone.json()["type"] == "urn:shareline:problem:qr-token-revoked"
    assert all(row.revoked_at is not None for row in token_rows(aps))
    status = (await aps.client.get(f"/api/v1/aps/devices/{device}/qr")).json()
    assert status["outstanding"] is False


async def test_smtp_refusing_the_message_is_502_and_the_link_is_withdrawn(
    aps: Aps, tiny_smtp: SmtpServer
) -> None:
    use_smtp(aps, tiny_smtp.port)
    device = aps.softphone()
    failed = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert failed.status_code == 502, failed.text
    assert failed.json()["type"] == "urn:shareline:problem:mail-failed"
    assert tiny_smtp.messages() == []
    [row] = token_rows(aps)
    assert row.revoked_reason == tokens.MAIL_FAILED


async def test_starttls_against_a_server_without_tls_is_502(aps: Aps, smtp: SmtpServer) -> None:
    use_smtp(aps, smtp.port)
    aps.runtime.settings = aps.runtime.settings.model_copy(update={"smtp_security": "starttls"})
    device = aps.softphone()
    failed = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert failed.status_code == 502, failed.text
    assert failed.json()["type"] == "urn:shareline:problem:mail-failed"
    [row] = token_rows(aps)
    assert row.revoked_reason == tokens.MAIL_FAILED


async def test_no_identity_email_is_409_and_no_link_is_made(aps: Aps, smtp: SmtpServer) -> None:
    use_smtp(aps, smtp.port)
    device = aps.softphone(auth_name="101_2")
    refused = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert refused.status_code == 409
    body = refused.json()
    assert body["type"] == "urn:shareline:problem:no-identity-email"
    assert "101" in body["detail"] and "e-mail" in body["detail"]
    assert token_rows(aps) == []


async def test_no_smtp_server_configured_is_503_and_no_link_is_made(aps: Aps) -> None:
    device = aps.softphone()
    refused = await aps.client.post(f"/api/v1/aps/devices/{device}/qr/send")
    assert refused.status_code == 503
    assert refused.json()["type"] == "urn:shareline:problem:mail-not-configured"
    assert token_rows(aps) == []
