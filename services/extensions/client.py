"""The extensions service's published client: the one module other services may import.

APS reads the committed telephony state (never pending edits), asks which endpoints are
registered, and has Asterisk send SIP NOTIFYs (check-sync) to phones.

Errors: an unreachable extensions service raises `ServiceUnavailable` (503, member
`service="extensions"`); any other problem it answers is raised as `ExtensionsProblem`,
which re-renders exactly as extensions wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.common.errors import RemoteProblem
from services.common.http import ServiceClient

RingMode = Literal["ring", "distinctive", "silent"]
ContactStatus = Literal["registered", "unregistered", "unknown"]
NotifyResult = Literal["sent", "not-registered", "unknown-endpoint", "skipped"]


@dataclass(frozen=True)
class CommittedSlot:
    auth_name: str
    index: int
    ring_mode: RingMode
    tone: int | None


@dataclass(frozen=True)
class CommittedExtension:
    number: str
    name: str
    full_name: str
    email: str | None
    password: str
    slots: tuple[CommittedSlot, ...]


@dataclass(frozen=True)
class SipServer:
    host: str
    port: int
    transport: Literal["udp", "tcp", "tls"]


@dataclass(frozen=True)
class CommittedTelephony:
    """The state of the latest telephony commit; `revision` is None before the first."""

    revision: int | None
    content_hash: str | None
    committed_at: datetime | None
    sip: SipServer
    extensions: tuple[CommittedExtension, ...]

    def slot(self, auth_name: str) -> tuple[CommittedExtension, CommittedSlot] | None:
        for extension in self.extensions:
            for slot in extension.slots:
                if slot.auth_name == auth_name:
                    return extension, slot
        return None


@dataclass(frozen=True)
class Contact:
    status: ContactStatus
    user_agent: str | None
    uri: str | None


class ExtensionsProblem(RemoteProblem):
    """A problem the extensions service answered, re-rendered verbatim."""


class ExtensionsClient(ServiceClient):
    """Committed telephony state, endpoint registration, SIP NOTIFY."""

    problem_class = ExtensionsProblem

    service_name = "extensions"

    def committed(self) -> CommittedTelephony:
        body = self.answer(self.request("GET", "/internal/v1/telephony/committed"))
        return _committed_from(body)

    def committed_unless(self, etag: str | None) -> tuple[CommittedTelephony | None, str | None]:
        """The committed telephony and its ETag, or (None, etag) while `etag` still names
        it: a caller that kept the document skips fetching and parsing every extension."""
        headers = {"If-None-Match": etag} if etag else None
        response = self.request("GET", "/internal/v1/telephony/committed", headers=headers)
        if etag and response.status_code == 304:
            return None, etag
        return _committed_from(self.answer(response)), response.headers.get("etag")

    def contacts(self, endpoints: list[str]) -> dict[str, Contact]:
        # A read: safe to retry although it is a POST.
        response = self.request(
            "POST",
            "/internal/v1/telephony/contacts",
            json={"endpoints": list(endpoints)},
            headers={"Idempotency-Key": "contacts"},
        )
        body = self.answer(response)
        return {name: Contact(**c) for name, c in body["contacts"].items()}

    def notify(self, endpoints: list[str], event: str) -> dict[str, NotifyResult]:
        response = self.request(
            "POST",
            "/internal/v1/telephony/notify",
            json={"endpoints": list(endpoints), "event": event},
        )
        results: dict[str, NotifyResult] = self.answer(response)["results"]
        return results


__all__ = [
    "CommittedExtension",
    "CommittedSlot",
    "CommittedTelephony",
    "Contact",
    "ExtensionsClient",
    "ExtensionsProblem",
    "SipServer",
]


def _committed_from(body: dict[str, Any]) -> CommittedTelephony:
    return CommittedTelephony(
        revision=body["revision"],
        content_hash=body["content_hash"],
        committed_at=(
            datetime.fromisoformat(body["committed_at"]) if body["committed_at"] else None
        ),
        sip=SipServer(**body["sip"]),
        extensions=tuple(
            CommittedExtension(
                number=e["number"],
                name=e["name"],
                full_name=e["full_name"],
                email=e["email"],
                password=e["password"],
                slots=tuple(CommittedSlot(**s) for s in e["slots"]),
            )
            for e in body["extensions"]
        ),
    )
