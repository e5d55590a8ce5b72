"""`/api/v1/aps/devices`: hardware phones by MAC, softphones by generated id."""

from __future__ import annotations

from fastapi import Request, Response
from sqlmodel import Session, col, select

from services.aps.deps import CatalogDep, SealerDep, TelephonyDep
from services.aps.devices import service
from services.aps.devices.models import Device, DeviceLine
from services.aps.devices.schemas import (
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    FetchStatus,
    KeyIn,
    LineIn,
)
from services.aps.snapshots.models import RenderState
from services.aps.softphones.licenses import on_device_created, on_device_deleted
from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep

router = protected_router()
PREFIX = "/api/v1/aps/devices"


def _public(device: Device, lines: list[DeviceLine], rendered: int | None) -> DevicePublic:
    fetch = None
    if device.last_fetch_at is not None:
        fetched = device.last_fetch_revision
        fetch = FetchStatus(
            at=device.last_fetch_at,
            address=device.last_fetch_address,
            user_agent=device.last_fetch_user_agent,
            revision=fetched,
            current=fetched is not None and rendered is not None and fetched >= rendered,
        )
    return DevicePublic(
        id=device.id,
        vendor=device.vendor,
        model=device.model,
        label=device.label,
        time_zone=device.time_zone,
        lines=[LineIn(line=x.line, auth_name=x.auth_name) for x in lines],
        keys=[KeyIn(**k) for k in device.keys or []],
        created_at=device.created_at,
        updated_at=device.updated_at,
        enrolled_at=device.enrolled_at,
        rendered_revision=rendered,
        last_fetch=fetch,
    )


def _rendered(session: Session, device_id: str) -> int | None:
    return session.exec(
        select(RenderState.revision).where(RenderState.device_id == device_id)
    ).first()


def _flush_fetches(request: Request) -> None:
    request.app.state.fetches.flush(request.app.state.engine)


@router.get(
    PREFIX,
    tags=["aps devices"],
    summary="List devices with their last fetch",
    response_model=list[DevicePublic],
)
def list_devices(request: Request, session: SessionDep, _caller: CallerDep) -> list[DevicePublic]:
    _flush_fetches(request)
    devices = session.exec(select(Device).order_by(col(Device.id))).all()
    lines: dict[str, list[DeviceLine]] = {}
    for line in session.exec(select(DeviceLine).order_by(col(DeviceLine.line))).all():
        lines.setdefault(line.device_id, []).append(line)
    rendered = dict(session.exec(select(RenderState.device_id, RenderState.revision)).all())
    return [_public(d, lines.get(d.id, []), rendered.get(d.id)) for d in devices]


@router.post(
    PREFIX,
    tags=["aps devices"],
    summary="Add a device",
    description=(
        "A hardware device is keyed by its MAC (any of `AA:BB:CC:DD:EE:FF`, "
        "`aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff`, `AABBCCDDEEFF`; stored as 12 lowercase hex "
        "digits). Each line carries one slot of the committed telephony; a slot may be on "
        "one device line only. A per-device provisioning credential is generated. Nothing "
        "reaches the phone before the next APS commit."
    ),
    status_code=201,
    response_model=DevicePublic,
    responses=problem_responses(409, 422, 503),
)
def create_device(
    body: DeviceCreate,
    telephony: TelephonyDep,
    session: SessionDep,
    caller: CallerDep,
    catalog: CatalogDep,
    sealer: SealerDep,
    response: Response,
    request: Request,
) -> DevicePublic:
    device = service.create_device(session, body, telephony, catalog, sealer, caller.actor)
    on_device_created(request, session, device, caller)
    response.headers["Location"] = f"{PREFIX}/{device.id}"
    return _public(device, service.device_lines(session, device.id), None)


@router.get(
    PREFIX + "/{device_id}",
    tags=["aps devices"],
    summary="One device, with its last fetch and whether it runs the current files",
    response_model=DevicePublic,
    responses=problem_responses(404),
)
def get_device(
    device_id: str, request: Request, session: SessionDep, _caller: CallerDep
) -> DevicePublic:
    _flush_fetches(request)
    device = service.get_device(session, service.device_id_from_path(device_id))
    session.refresh(device)
    return _public(device, service.device_lines(session, device.id), _rendered(session, device.id))


@router.patch(
    PREFIX + "/{device_id}",
    tags=["aps devices"],
    summary="Change a device's model, label, time zone, lines or keys",
    description="Lists given replace the device's lists; fields left out stay as they are.",
    response_model=DevicePublic,
    responses=problem_responses(404, 409, 422, 503),
)
def update_device(
    device_id: str,
    body: DeviceUpdate,
    telephony: TelephonyDep,
    session: SessionDep,
    caller: CallerDep,
    catalog: CatalogDep,
) -> DevicePublic:
    device = service.get_device(session, service.device_id_from_path(device_id))
    service.update_device(session, device, body, telephony, catalog, caller.actor)
    return _public(device, service.device_lines(session, device.id), _rendered(session, device.id))


@router.post(
    PREFIX + "/{device_id}/credential",
    tags=["aps devices"],
    summary="Give a device a new provisioning credential (e.g. after a factory reset)",
    description=(
        "The device must enrol again: after the next APS commit its MAC file carries the "
        "new credential, and the site-wide credential opens its first fetch once more."
    ),
    response_model=DevicePublic,
    responses=problem_responses(404),
)
def renew_credential(
    device_id: str, session: SessionDep, caller: CallerDep, sealer: SealerDep
) -> DevicePublic:
    device = service.get_device(session, service.device_id_from_path(device_id))
    service.renew_credential(session, device, sealer, caller.actor)
    return _public(device, service.device_lines(session, device.id), _rendered(session, device.id))


@router.delete(
    PREFIX + "/{device_id}",
    tags=["aps devices"],
    summary="Remove a device (its files disappear at the next APS commit)",
    status_code=204,
    responses=problem_responses(404),
)
def delete_device(
    device_id: str, session: SessionDep, caller: CallerDep, request: Request
) -> Response:
    device = service.get_device(session, service.device_id_from_path(device_id))
    service.delete_device(session, device, caller.actor)
    on_device_deleted(request, session, device, caller)
    return Response(status_code=204)
