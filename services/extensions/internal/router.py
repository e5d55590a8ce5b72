"""`/internal/v1/telephony/...`: what APS needs from the committed telephony state.

Only services call these (service token required; the gateway never forwards them).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Annotated, Any, Literal

from fastapi import Header, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.common.db import on_commit
from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.memory import release_freed_memory_after_large_response
from services.common.service_app import protected_router
from services.extensions.asterisk.ami import AmiError
from services.extensions.context import LinkDep, SettingsDep
from services.extensions.settings import Settings
from services.extensions.tables import Revision
from services.extensions.telephony.commits import committed_state, current_revision

log = logging.getLogger("shareline.extensions.internal")

router = protected_router()
router.tags = ["internal"]
Endpoint = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}(_[0-9]{1,2})?$")]


class EndpointsBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"endpoints": ["100", "100_2"]}]}
    )
    endpoints: list[Endpoint] = Field(max_length=5000)


class NotifyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"endpoints": ["100_2"], "event": "check-sync"}]},
    )
    endpoints: list[Endpoint] = Field(max_length=5000)
    # A bare event, or check-sync with the reboot flag phones read (Yealink, Snom, Fanvil).
    event: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,31}(;reboot=(true|false))?$")
    ]


class ContactOut(BaseModel):
    status: Literal["registered", "unregistered", "unknown"]
    user_agent: str | None
    uri: str | None


class ContactsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contacts": {
                        "100_2": {
                            "status": "registered",
                            "user_agent": "Yealink SIP-T54W",
                            "uri": "sip:100_2@192.0.2.7:5060",
                        },
                        "100_3": {"status": "unregistered", "user_agent": None, "uri": None},
                    }
                }
            ]
        }
    )
    contacts: dict[str, ContactOut]


class NotifyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"results": {"100_2": "sent", "100_3": "not-registered"}}]}
    )
    results: dict[str, Literal["sent", "not-registered", "unknown-endpoint", "skipped"]]


class CommittedSlotOut(BaseModel):
    auth_name: str
    index: int
    ring_mode: Literal["ring", "distinctive", "silent"]
    tone: int | None


class CommittedExtensionOut(BaseModel):
    number: str
    name: str
    full_name: str
    email: str | None
    password: str
    slots: list[CommittedSlotOut]


class SipOut(BaseModel):
    host: str
    port: int
    transport: Literal["udp", "tcp", "tls"]


class CommittedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 3,
                    "content_hash": "9be0…",
                    "committed_at": "2026-11-26T09:00:00+00:00",
                    "sip": {"host": "pbx.example.com", "port": 5060, "transport": "udp"},
                    "extensions": [
                        {
                            "number": "100",
                            "name": "Alice",
                            "full_name": "Alice Smith",
                            "email": "alice@example.com",
                            "password": "q8Xv2mT5rK0pLw7nZ3aB9cDe",
                            "slots": [
                                {"auth_name": "100", "index": 1, "ring_mode": "ring", "tone": None}
                            ],
                        }
                    ],
                }
            ]
        }
    )
    revision: int | None
    content_hash: str | None
    committed_at: str | None
    sip: SipOut
    extensions: list[CommittedExtensionOut]


def committed_etag(revision: Revision | None, settings: Settings) -> str:
    """Names one committed document: the revision, its content and the SIP server."""
    key = (
        revision.rev if revision else None,
        revision.content_hash if revision else None,
        settings.sip_host,
        settings.sip_port,
        settings.sip_transport,
    )
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


@router.get(
    "/internal/v1/telephony/committed",
    response_model=CommittedOut,
    summary="The state of the latest successfully deployed telephony commit (with passwords)",
    description=(
        "Sends an `ETag`; `If-None-Match` with it answers 304 while nothing changed, so APS "
        "need not fetch and parse every extension for each commit."
    ),
    responses={304: {"description": "Unchanged since the ETag given"}, **problem_responses(401)},
)
def committed(
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    revision = current_revision(session)
    etag = committed_etag(revision, settings)
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    on_commit(session, release_freed_memory_after_large_response)
    state = json.loads(revision.state_json) if revision else {"extensions": []}
    return {
        "revision": revision.rev if revision else None,
        "content_hash": revision.content_hash if revision else None,
        "committed_at": revision.committed_at.isoformat() if revision else None,
        "sip": {
            "host": settings.sip_host,
            "port": settings.sip_port,
            "transport": settings.sip_transport,
        },
        "extensions": [
            {
                "number": e["number"],
                "name": e["name"],
                "full_name": e["full_name"],
                "email": e["email"],
                "password": e["password"],
                "slots": e["slots"],
            }
            for e in state["extensions"]
        ],
    }


@router.post(
    "/internal/v1/telephony/contacts",
    response_model=ContactsOut,
    summary="Registration of endpoints (`unknown` without a reachable AMI)",
    responses=problem_responses(401, 422),
)
def contacts(body: EndpointsBody, link: LinkDep) -> ContactsOut:
    views = link.contacts(sorted(set(body.endpoints)))
    return ContactsOut(
        contacts={
            e: ContactOut(status=v.status, user_agent=v.user_agent, uri=v.uri)
            for e, v in views.items()
        }
    )


@router.post(
    "/internal/v1/telephony/notify",
    response_model=NotifyOut,
    summary="Send a SIP NOTIFY (e.g. check-sync) to endpoints with a registered contact",
    responses=problem_responses(401, 422),
)
def notify(body: NotifyBody, session: SessionDep, link: LinkDep) -> NotifyOut:
    _revision, state = committed_state(session)
    extensions = (state or {"extensions": []})["extensions"]
    known = {s["auth_name"] for e in extensions for s in e["slots"]}
    wanted = sorted(set(body.endpoints))
    results: dict[str, Any] = {e: "unknown-endpoint" for e in wanted if e not in known}
    reachable = [e for e in wanted if e in known]
    if not link.enabled:
        return NotifyOut(results={**results, **dict.fromkeys(reachable, "skipped")})
    views = link.contacts(reachable)
    for endpoint in reachable:
        results[endpoint] = _notify_one(link, endpoint, views[endpoint].status, body.event)
    return NotifyOut(results=results)


def _notify_one(link: Any, endpoint: str, status: str, event: str) -> str:
    # Asterisk answers success to PJSIPNotify even without a contact: check first.
    if status == "unknown":
        return "skipped"
    if status != "registered":
        return "not-registered"
    try:
        link.notify(endpoint, event)
    except AmiError as exc:
        log.warning("PJSIPNotify to %s failed: %s", endpoint, exc)
        return "skipped"
    return "sent"
