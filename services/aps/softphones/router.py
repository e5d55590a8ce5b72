"""Routes: the administrator's QR endpoints and the app-facing one-time link.

POST   /api/v1/aps/devices/{id}/qr        new link, answered as a PNG or SVG QR code
POST   /api/v1/aps/devices/{id}/qr/send   new link, e-mailed to the extension's identity
GET    /api/v1/aps/devices/{id}/qr        outstanding link (until when), last redemption
DELETE /api/v1/aps/devices/{id}/qr        withdraw the outstanding link
GET    /provision/softphone/{token}       a page for browsers and link previews (not
                                          consuming); with X-Linphone-Provisioning the
                                          Linphone XML, consuming the link
POST   /provision/softphone/{token}       redeem: JSON or Linphone XML (Accept/?format=)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from services.aps.devices.service import device_id_from_path
from services.aps.provisioning.identify import client_address
from services.aps.softphones import qr, service
from services.aps.softphones.errors import TokenUsed
from services.aps.softphones.negotiation import negotiate
from services.aps.softphones.page import PAGE_HEADERS, landing_page
from services.aps.softphones.runtime import Softphones
from services.aps.softphones.status import QrStatus
from services.common.errors import PROBLEM_MEDIA_TYPE, problem_responses
from services.common.service_app import protected_router
from services.common.service_tokens import Caller, CallerDep

LINPHONE_HEADER = "X-Linphone-Provisioning"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
Flavour = Literal["json", "linphone"]
GONE: dict[int | str, dict[str, Any]] = {
    410: {
        "description": "The link was used, expired, or was replaced or withdrawn",
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": TokenUsed("this provisioning link was already used").to_problem(),
            }
        },
    }
}


class SentLinkPublic(BaseModel):
    """Where the link went and until when it works (the link itself is never shown)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device_id": "sp-3f2a9c0d1e4b5a6f7081",
                    "sent_to": "alice@example.com",
                    "expires_at": "2026-11-26T08:45:00Z",
                }
            ]
        }
    )

    device_id: str
    sent_to: str
    expires_at: datetime


def _runtime(request: Request) -> Softphones:
    runtime: Softphones = request.app.state.softphones
    return runtime


def admin_router() -> APIRouter:
    router = protected_router()
    base = "/api/v1/aps/devices/{device_id}/qr"

    @router.post(
        base,
        tags=["softphones"],
        summary="Issue a one-time provisioning link as a QR code (PNG or SVG by Accept)",
        response_class=Response,
        responses={
            200: {
                "content": {qr.PNG: {}, qr.SVG: {}},
                "description": "The QR code of the link; earlier links stop working",
            },
            **problem_responses(404, 406, 409),
        },
    )
    def issue_qr(
        device_id: str,
        request: Request,
        caller: CallerDep,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        media_type = qr.choose_media_type(accept)
        runtime = _runtime(request)
        issued = service.issue_link(
            request.app.state.engine, runtime, device_id_from_path(device_id), actor=caller.actor
        )
        url = qr.provisioning_url(runtime.public_base_url, issued.token)
        headers = {**NO_STORE, "X-QR-Expires-At": issued.expires_at.isoformat()}
        return Response(qr.render(url, media_type), media_type=media_type, headers=headers)

    @router.post(
        base + "/send",
        tags=["softphones"],
        summary="Issue a one-time link and e-mail its QR code to the extension's identity",
        responses=problem_responses(404, 409, 502, 503),
    )
    def send_qr(device_id: str, request: Request, caller: CallerDep) -> SentLinkPublic:
        sent = service.send_link(
            request.app.state.engine,
            _runtime(request),
            device_id_from_path(device_id),
            actor=caller.actor,
        )
        return SentLinkPublic(
            device_id=sent.device_id, sent_to=sent.sent_to, expires_at=sent.expires_at
        )

    @router.get(
        base,
        tags=["softphones"],
        summary="A softphone's outstanding link (until when) and its last redemption",
        responses=problem_responses(404, 409),
    )
    def qr_status(device_id: str, request: Request) -> QrStatus:
        return service.link_status(
            request.app.state.engine, _runtime(request), device_id_from_path(device_id)
        )

    @router.delete(
        base,
        tags=["softphones"],
        status_code=204,
        summary="Withdraw the softphone's outstanding link",
        responses=problem_responses(404, 409),
    )
    def withdraw_qr(device_id: str, request: Request) -> Response:
        service.withdraw_links(
            request.app.state.engine, _runtime(request), device_id_from_path(device_id)
        )
        return Response(status_code=204)

    return router


def provisioning_router() -> APIRouter:
    router = protected_router()
    path = "/provision/softphone/{token}"

    @router.get(
        path,
        tags=["provisioning"],
        summary="The one-time link: a page for browsers; the account for Linphone",
        description=(
            "Without the `X-Linphone-Provisioning` header (browsers, link previews, mail "
            "scanners) a small HTML page that does not use the link up. With it, the "
            "Linphone remote-provisioning XML (or `?format=json`), using the link up."
        ),
        response_class=HTMLResponse,
        responses={
            200: {"content": {"text/html": {}, "application/xml": {}, "application/json": {}}},
            **problem_responses(404, 409, 503),
            **GONE,
        },
    )
    async def open_link(
        token: str,
        request: Request,
        caller: CallerDep,
        format: Annotated[Flavour | None, Query()] = None,
        linphone: Annotated[str | None, Header(alias=LINPHONE_HEADER)] = None,
        user_agent: Annotated[str | None, Header()] = None,
    ) -> Response:
        if linphone is None:
            return await _page(request, token, with_body=True)
        return await _redeem(request, caller, token, format or service.LINPHONE, user_agent)

    @router.head(path, include_in_schema=False)
    async def peek_link(token: str, request: Request, _caller: CallerDep) -> Response:
        return await _page(request, token, with_body=False)

    @router.post(
        path,
        tags=["provisioning"],
        summary="Redeem the one-time link: the account document, exactly once",
        response_class=Response,
        responses={
            200: {"content": {"application/json": {}, "application/xml": {}}},
            **problem_responses(404, 406, 409, 503),
            **GONE,
        },
    )
    async def redeem(
        token: str,
        request: Request,
        caller: CallerDep,
        format: Annotated[Flavour | None, Query()] = None,
        accept: Annotated[str | None, Header()] = None,
        user_agent: Annotated[str | None, Header()] = None,
    ) -> Response:
        flavour = format or negotiate(
            accept,
            {
                "application/json": service.JSON,
                "application/xml": service.LINPHONE,
                "text/xml": service.LINPHONE,
            },
            service.JSON,
        )
        return await _redeem(request, caller, token, flavour, user_agent)

    return router


async def _page(request: Request, token: str, *, with_body: bool) -> Response:
    """The landing page; it checks the link but never uses it up."""
    expires = await run_in_threadpool(
        service.check_link, request.app.state.engine, _runtime(request), token
    )
    return HTMLResponse(landing_page(expires) if with_body else "", headers=PAGE_HEADERS)


async def _redeem(
    request: Request, caller: Caller, token: str, flavour: str, user_agent: str | None
) -> Response:
    body = await run_in_threadpool(
        service.redeem_link,
        request.app.state.engine,
        _runtime(request),
        token,
        flavour=flavour,
        user_agent=user_agent,
        address=client_address(request, caller),
    )
    return Response(body, media_type=service.MEDIA_TYPES[flavour], headers=NO_STORE)
