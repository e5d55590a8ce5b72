"""`GET /provision/{filename}`: the bytes of the latest snapshot, to the phone that owns them.

Lookups only: the file by its lowercase name, the device's credential hash, the
address's budget. Unknown MACs and wrong credentials get one identical 401.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from services.aps.devices.identity import InvalidMac, check_unicast
from services.aps.devices.models import Device
from services.aps.provisioning.credentials import Presented, challenge, presented
from services.aps.provisioning.identify import (
    client_address,
    mac_from_user_agent,
    safe_filename,
)
from services.aps.provisioning.index import DeviceAccess, FileEntry, ProvisioningIndex
from services.common.db import READ, unit_of_work
from services.common.errors import PROBLEM_MEDIA_TYPE, problem_type
from services.common.metrics import metrics_for
from services.common.service_tokens import Caller, require_caller


async def phone_caller(request: Request) -> Caller:
    """The service token check, run on the event loop: it is CPU work on cached tokens,
    and a thread hop per phone request costs more than the check."""
    return require_caller(request)


PhoneCallerDep = Annotated[Caller, Depends(phone_caller)]
# Every route here needs a service token, like the routers `protected_router()` builds.
router = APIRouter(dependencies=[Depends(phone_caller)])

UNAUTHORIZED_BODY = {
    "type": problem_type("unauthorized"),
    "title": "Unauthorized",
    "status": 401,
    "detail": "provisioning needs valid device credentials",
}


def _problem(status: int, slug: str, title: str, detail: str, **headers: str) -> JSONResponse:
    body = {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _unauthorized(state: Any) -> JSONResponse:
    return JSONResponse(
        UNAUTHORIZED_BODY,
        status_code=401,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={
            "WWW-Authenticate": challenge(state.settings.provisioning_challenge, state.nonces),
            "Cache-Control": "no-store",
        },
    )


def _not_found() -> JSONResponse:
    return _problem(404, "not-found", "Not found", "no such provisioning file")


def _site_credentials_match(app_state: Any, credentials: Presented | None) -> bool:
    if credentials is None:
        return False
    settings = app_state.settings
    user_ok = hmac.compare_digest(credentials.user.encode(), settings.provisioning_user.encode())
    password = settings.provisioning_password.get_secret_value()
    return credentials.proves(app_state.nonces, password=password) and user_ok


def _device_credentials_match(
    app_state: Any, credentials: Presented | None, device_id: str, access: DeviceAccess
) -> bool:
    return bool(
        credentials
        and credentials.user == device_id
        and credentials.proves(
            app_state.nonces, password_hash=access.credential_hash, digest_ha1=access.digest_ha1
        )
    )


async def _enrolled_in_database(app_state: Any, device_id: str) -> bool:
    def read() -> bool:
        with unit_of_work(app_state.engine, READ) as session:
            enrolled = session.exec(select(Device.enrolled_at).where(Device.id == device_id))
            return enrolled.first() is not None

    return await asyncio.to_thread(read)


async def _may_read(
    app_state: Any,
    index: ProvisioningIndex,
    device_id: str | None,
    credentials: Presented | None,
) -> bool:
    """Promise 1: the device's own credential, or the site's before enrolment."""
    if device_id is None:  # a common file: any valid provisioning credential
        if _site_credentials_match(app_state, credentials):
            return True
        access = index.devices.get(credentials.user) if credentials else None
        return bool(
            access
            and credentials
            and _device_credentials_match(app_state, credentials, credentials.user, access)
        )
    access = index.devices.get(device_id)
    if access is None:
        return False
    if _device_credentials_match(app_state, credentials, device_id, access):
        if not access.enrolled:
            access.enrolled = True
            app_state.fetches.note_enrolled(device_id)
        return True
    if not _site_credentials_match(app_state, credentials) or access.enrolled:
        return False
    if await _enrolled_in_database(app_state, device_id):  # enrolled via another replica
        access.enrolled = True
        return False
    return True


def _entry_for_unknown_name(index: ProvisioningIndex, catalog: Any, name: str) -> str | None:
    """The device a well-formed but unserved MAC file name points at, if any."""
    mac = catalog.mac_in_filename(name)
    if mac is None:
        return None
    try:
        check_unicast(mac)
    except InvalidMac:
        return None
    return mac


def _file_response(request: Request, entry: FileEntry) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "private, no-cache"}
    inm = request.headers.get("if-none-match")
    if inm and (inm.strip() == "*" or entry.etag in [t.strip() for t in inm.split(",")]):
        return Response(status_code=304, headers=headers)
    return Response(entry.content, media_type=entry.content_type, headers=headers)


@router.get(
    "/provision/{filename}",
    tags=["provisioning"],
    summary="A phone fetches one of its configuration files",
    description=(
        "Serves the file as rendered at the latest APS commit. The phone authenticates "
        "with HTTP Basic: the site-wide provisioning credential for its first fetch, its "
        "own per-device credential (set in its MAC file) from then on; HTTP Digest "
        "(MD5, qop=auth) works too. Unknown devices "
        "and wrong credentials get the same 401. Sends an `ETag`; `If-None-Match` gives "
        "304. Bursts of misses from one address are answered 429 and banned for a while."
    ),
    responses={
        200: {"description": "The file", "content": {"application/xml": {}, "text/plain": {}}},
        304: {"description": "Unchanged since the ETag given"},
        400: {"description": "Malformed file name", "content": {PROBLEM_MEDIA_TYPE: {}}},
        401: {
            "description": "Missing or wrong credentials, or unknown device",
            "content": {PROBLEM_MEDIA_TYPE: {"example": UNAUTHORIZED_BODY}},
        },
        404: {"description": "No such file", "content": {PROBLEM_MEDIA_TYPE: {}}},
        429: {
            "description": "Too many requests or misses: banned",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        },
    },
)
async def provision(filename: str, request: Request, caller: PhoneCallerDep) -> Response:
    response = await _answer(filename, request, caller)
    state = request.app.state
    index: ProvisioningIndex = state.index
    vendor = index.vendor_of(index.lookup(filename.lower()), state.common_file_vendors)
    outcome = FETCH_OUTCOMES.get(response.status_code, str(response.status_code))
    metrics_for(request.app).provision_fetches.labels(vendor=vendor, outcome=outcome).inc()
    return response


FETCH_OUTCOMES = {
    200: "served",
    304: "not-modified",
    400: "bad-name",
    401: "unauthorized",
    404: "not-found",
    429: "banned",
}


async def _answer(filename: str, request: Request, caller: Caller) -> Response:
    state = request.app.state
    address = client_address(request, caller)
    wait = state.guard.admit(address)
    if wait is not None:
        return _problem(
            429,
            "too-many-requests",
            "Too many requests",
            "too many provisioning requests or misses from this address",
            **{"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    if not safe_filename(filename):
        state.guard.miss(address)
        return _problem(400, "bad-filename", "Bad request", "malformed file name")
    name = filename.lower()
    index: ProvisioningIndex = state.index
    entry = index.lookup(name)
    user_agent = request.headers.get("user-agent", "")
    auth_on = state.settings.provisioning_auth
    credentials = presented(request)
    if entry is None:
        mac = _entry_for_unknown_name(index, state.catalog, name)
        if mac is None:
            state.guard.miss(address)
            return _not_found()
        if auth_on and not await _may_read(state, index, mac, credentials):
            state.guard.miss(address)
            return _unauthorized(state)
        if not auth_on and mac not in index.devices:
            state.guard.miss(address)
        return _not_found()
    if entry.device_id is not None:
        ua_mac = mac_from_user_agent(user_agent)
        if ua_mac is not None and ua_mac != entry.device_id:
            state.guard.miss(address)
            return _unauthorized(state)
    if auth_on and not await _may_read(state, index, entry.device_id, credentials):
        state.guard.miss(address)
        return _unauthorized(state)
    if entry.device_id is not None:
        state.fetches.note(entry.device_id, address, user_agent, index.revision)
    return _file_response(request, entry)
