"""The e-mail that brings a provisioning link to the user, and the SMTP hop that sends it.

The message is multipart/alternative: a text part (the link and short instructions) and
a multipart/related HTML part whose QR code is an inline PNG referenced by `cid:`, so
mail clients that block remote images still show it.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from services.aps.softphones.errors import MailFailed, MailNotConfigured
from services.aps.softphones.settings import SoftphoneSettings

log = logging.getLogger("shareline.aps.softphones.mail")

SUBJECT = "Your softphone account for extension {extension}"


@dataclass(frozen=True)
class LinkMail:
    """What the user is told: whose account, the link, its QR code and when it expires."""

    recipient: str
    display_name: str
    extension: str
    url: str
    qr_png: bytes
    expires_at: datetime


def _expiry(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def compose(mail: LinkMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = SUBJECT.format(extension=mail.extension)
    message["From"] = sender
    message["To"] = mail.recipient
    message.set_content(_text(mail))
    cid = make_msgid(domain="shareline.invalid")
    message.add_alternative(_html(mail, cid[1:-1]), subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        mail.qr_png, maintype="image", subtype="png", cid=cid, filename="softphone-qr.png"
    )
    return message


def _text(mail: LinkMail) -> str:
    return (
        f"Hello {mail.display_name},\n\n"
        f"your softphone for extension {mail.extension} is ready to be set up.\n\n"
        "On your phone or computer, open your softphone app (for example Linphone), choose\n"
        "to fetch a remote configuration (or scan a QR code), and give it this link:\n\n"
        f"  {mail.url}\n\n"
        f"The link works once and expires at {_expiry(mail.expires_at)}.\n"
        "If it has expired or was already used, ask your administrator for a new one.\n"
    )


def _html(mail: LinkMail, cid: str) -> str:
    name, url = html.escape(mail.display_name), html.escape(mail.url)
    return (
        '<!DOCTYPE html><html><body style="font-family: sans-serif">'
        f"<p>Hello {name},</p>"
        f"<p>your softphone for extension {html.escape(mail.extension)} is ready to be set up."
        "</p><p>Open your softphone app (for example Linphone), choose <em>scan a QR code</em> "
        "or <em>fetch a remote configuration</em>, and scan this code:</p>"
        f'<p><img src="cid:{html.escape(cid)}" alt="QR code of your provisioning link" '
        'width="240" height="240"></p>'
        f'<p>Or give the app this link: <a href="{url}">{url}</a></p>'
        f"<p>The link works once and expires at {_expiry(mail.expires_at)}.</p>"
        "</body></html>"
    )


def require_configured(settings: SoftphoneSettings) -> None:
    if not settings.smtp_host:
        raise MailNotConfigured("no SMTP server is configured (SHARELINE_SMTP_HOST)")


def send(settings: SoftphoneSettings, message: EmailMessage) -> None:
    """Hand the message to the configured SMTP server, or raise MailFailed (502)."""
    require_configured(settings)
    try:
        with _connect(settings) as smtp:
            if settings.smtp_username and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # The exception text may echo the server's words; it never holds our password.
        log.warning(
            "mail to the softphone user failed: %s",
            type(exc).__name__,
            extra={"smtp_host": settings.smtp_host, "smtp_port": settings.smtp_port},
        )
        raise MailFailed(
            f"the mail server {settings.smtp_host}:{settings.smtp_port} did not take the "
            f"message ({_reason(exc)}); the link was withdrawn, try again later"
        ) from exc
    if refused:
        raise MailFailed("the mail server refused the recipient; the link was withdrawn")


def _connect(settings: SoftphoneSettings) -> smtplib.SMTP:
    host, port = settings.smtp_host or "", settings.smtp_port
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "authentication failed"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"answered {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPException):
        return type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "timed out"
    return "unreachable"
