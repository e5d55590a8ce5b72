"""Softphone links end to end: issue, e-mail, show, redeem once, withdraw.

Each step opens its own short units of work, so no database lock is held while APS
waits on the extensions service or on the mail server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from services.aps.softphones import mail, qr, tokens
from services.aps.softphones.account import SoftphoneAccount, render_json, render_linphone
from services.aps.softphones.committed import committed_account, committed_slot, softphone
from services.aps.softphones.errors import NoIdentityEmail
from services.aps.softphones.runtime import Softphones
from services.aps.softphones.status import QrStatus, qr_status
from services.common.db import READ, WRITE, unit_of_work

log = logging.getLogger("shareline.aps.softphones")

JSON = "json"
LINPHONE = "linphone"
MEDIA_TYPES = {JSON: "application/json", LINPHONE: "application/xml; charset=utf-8"}


@dataclass(frozen=True)
class SentLink:
    device_id: str
    sent_to: str
    expires_at: datetime


def issue_link(
    engine: Engine, runtime: Softphones, device_id: str, *, actor: str | None
) -> tokens.IssuedToken:
    """A new one-time link for a softphone whose slot is committed; older links stop."""
    now = runtime.now()
    with unit_of_work(engine, WRITE) as session:
        softphone(session, device_id, lock=True)
        committed_slot(session, device_id)
        issued = tokens.issue(
            session,
            device_id,
            now=now,
            ttl_seconds=runtime.settings.qr_token_ttl_seconds,
            issued_by=actor,
        )
    _log_issued(issued, actor, sent_to=None)
    return issued


def send_link(
    engine: Engine, runtime: Softphones, device_id: str, *, actor: str | None
) -> SentLink:
    """Issue a link and e-mail its QR code to the extension's identity.

    A link whose mail did not go out is withdrawn at once: nobody has it, nobody may use it.
    """
    with unit_of_work(engine, READ) as session:
        softphone(session, device_id)
        auth_name = committed_slot(session, device_id)
    account = committed_account(runtime.extensions.committed(), device_id, auth_name)
    if not account.email:
        raise NoIdentityEmail(
            f"extension {account.extension} has no e-mail address in its identity (in the "
            "latest telephony commit); add one and commit telephony, or show the QR code instead",
            device=device_id,
            extension=account.extension,
        )
    mail.require_configured(runtime.settings)
    now = runtime.now()
    with unit_of_work(engine, WRITE) as session:
        softphone(session, device_id, lock=True)
        issued = tokens.issue(
            session,
            device_id,
            now=now,
            ttl_seconds=runtime.settings.qr_token_ttl_seconds,
            issued_by=actor,
            sent_to=account.email,
        )
    try:
        mail.send(runtime.settings, _message(runtime, account, issued))
    except Exception:
        with unit_of_work(engine, WRITE) as session:
            tokens.revoke(session, issued.hashed, now=runtime.now(), reason=tokens.MAIL_FAILED)
        log.warning(
            "softphone link withdrawn: its mail was not sent",
            extra={"device_id": device_id, "token_ref": tokens.token_ref(issued.hashed)},
        )
        raise
    _log_issued(issued, actor, sent_to=account.email)
    return SentLink(device_id=device_id, sent_to=account.email, expires_at=issued.expires_at)


def _message(
    runtime: Softphones, account: SoftphoneAccount, issued: tokens.IssuedToken
) -> mail.EmailMessage:
    url = qr.provisioning_url(runtime.public_base_url, issued.token)
    return mail.compose(
        mail.LinkMail(
            recipient=account.email or "",
            display_name=account.display_name,
            extension=account.extension,
            url=url,
            qr_png=qr.render_png(url),
            expires_at=issued.expires_at,
        ),
        runtime.settings.smtp_sender,
    )


def _log_issued(issued: tokens.IssuedToken, actor: str | None, *, sent_to: str | None) -> None:
    log.info(
        "softphone link issued",
        extra={
            "device_id": issued.device_id,
            "token_ref": tokens.token_ref(issued.hashed),
            "expires_at": issued.expires_at.isoformat(),
            "actor": actor,
            "mailed": sent_to is not None,
        },
    )


def withdraw_links(engine: Engine, runtime: Softphones, device_id: str) -> int:
    with unit_of_work(engine, WRITE) as session:
        softphone(session, device_id, lock=True)
        return tokens.revoke_outstanding(
            session, device_id, now=runtime.now(), reason=tokens.WITHDRAWN
        )


def link_status(engine: Engine, runtime: Softphones, device_id: str) -> QrStatus:
    with unit_of_work(engine, READ) as session:
        softphone(session, device_id)
        return qr_status(session, device_id, now=runtime.now())


def check_link(engine: Engine, runtime: Softphones, token: str) -> datetime:
    """When a still-usable link expires (for the landing page); never consumes it."""
    with unit_of_work(engine, READ) as session:
        row = tokens.usable(session, token, now=runtime.now())
        return row.expires_at


def redeem_link(
    engine: Engine,
    runtime: Softphones,
    token: str,
    *,
    flavour: str,
    user_agent: str | None,
    address: str | None,
) -> bytes:
    """The account document, once: checks first, then one atomic consumption."""
    with unit_of_work(engine, READ) as session:
        row = tokens.usable(session, token, now=runtime.now())
        device_id = row.device_id
        auth_name = committed_slot(session, device_id)
    account = committed_account(runtime.extensions.committed(), device_id, auth_name)
    redemption = tokens.Redemption(user_agent=user_agent, address=address, format=flavour)
    with unit_of_work(engine, WRITE) as session:
        used = tokens.redeem(session, token, now=runtime.now(), redemption=redemption)
    log.info(
        "softphone link redeemed",
        extra={
            "device_id": device_id,
            "token_ref": tokens.token_ref(used.token_hash),
            "auth_name": auth_name,
            "format": flavour,
            "user_agent": (user_agent or "")[:256],
            "client_address": address,
        },
    )
    if flavour == LINPHONE:
        return render_linphone(
            account, register_expiry_seconds=runtime.settings.softphone_register_expiry_seconds
        )
    return render_json(account)
