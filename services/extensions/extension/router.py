"""`/api/v1/extensions` and `/api/v1/extensions/{number}/credentials`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.common.bounds import MAX_DB_INT
from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.extensions.context import SecretReaderDep, SettingsDep, WriteDep
from services.extensions.extension import service
from services.extensions.extension.schemas import (
    Credentials,
    ExtensionCreate,
    ExtensionPage,
    ExtensionPublic,
    ExtensionUpdate,
    Identity,
    NoAnswer,
    Shared,
    SlotCredentials,
    SlotSummary,
)
from services.extensions.tables import Extension, Slot
from services.extensions.telephony.commits import committed_state

router = protected_router()
router.tags = ["extensions"]
PATH = "/api/v1/extensions"
ForceQuery = Annotated[
    bool,
    Query(description="Remove slots even while they are registered from a device"),
]


def to_public(extension: Extension, slots: list[Slot]) -> ExtensionPublic:
    return ExtensionPublic(
        number=extension.number,
        name=extension.name,
        identity=Identity(full_name=extension.full_name, email=extension.email),
        shared=Shared(enabled=extension.shared_enabled, max_devices=extension.max_devices),
        no_answer=NoAnswer(voicemail=extension.voicemail, ring_seconds=extension.ring_seconds),
        slots=[slot_summary(s) for s in slots],
        created_at=extension.created_at,
        updated_at=extension.updated_at,
    )


def slot_summary(slot: Slot) -> SlotSummary:
    return SlotSummary(
        auth_name=slot.auth_name,
        index=slot.slot_index,
        primary=slot.slot_index == 1,
        ring_mode=slot.ring_mode,  # type: ignore[arg-type]
        tone=slot.tone,
    )


@router.post(
    PATH,
    status_code=201,
    response_model=ExtensionPublic,
    summary="Create an extension (reserves its user and shared-device licenses)",
    responses=problem_responses(401, 409, 422, 503),
)
def create_extension(body: ExtensionCreate, ctx: WriteDep) -> ExtensionPublic:
    extension = service.create_extension(ctx, body)
    return to_public(extension, service.slots_of(ctx.session, extension.number))


@router.get(
    PATH,
    response_model=ExtensionPage,
    summary="List extensions, in number order",
    responses=problem_responses(401, 422),
)
def list_extensions(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> ExtensionPage:
    rows, total = service.list_extensions(session, limit, offset)
    slots = service.slots_by_extension(session, [e.number for e in rows])
    return ExtensionPage(
        items=[to_public(e, slots[e.number]) for e in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    PATH + "/{number}",
    response_model=ExtensionPublic,
    summary="One extension",
    responses=problem_responses(401, 404),
)
def get_extension(number: str, session: SessionDep) -> ExtensionPublic:
    extension = service.get_extension(session, number)
    return to_public(extension, service.slots_of(session, number))


@router.patch(
    PATH + "/{number}",
    response_model=ExtensionPublic,
    summary="Change an extension; raising max devices reserves licenses, lowering "
    "removes the highest slots and releases theirs",
    responses=problem_responses(401, 404, 409, 422, 503),
)
def update_extension(
    number: str, body: ExtensionUpdate, ctx: WriteDep, force: ForceQuery = False
) -> ExtensionPublic:
    extension = service.update_extension(ctx, number, body, force=force)
    return to_public(extension, service.slots_of(ctx.session, number))


@router.delete(
    PATH + "/{number}",
    status_code=204,
    response_class=Response,
    summary="Delete an extension, its slots and queue memberships; releases its licenses",
    responses=problem_responses(401, 404, 409),
)
def delete_extension(number: str, ctx: WriteDep, force: ForceQuery = False) -> Response:
    service.delete_extension(ctx, number, force=force)
    return Response(status_code=204)


@router.get(
    PATH + "/{number}/credentials",
    response_model=Credentials,
    summary="The manual-setup sheet: server, port, transport, user, auth name, password per slot",
    responses=problem_responses(401, 403, 404),
)
def credentials(
    number: str, session: SessionDep, settings: SettingsDep, _reader: SecretReaderDep
) -> Credentials:
    extension = service.get_extension(session, number)
    slots = service.slots_of(session, number)
    return Credentials(
        number=number,
        caller_id=f'"{extension.name}" <{number}>',
        committed=_is_committed(session, extension, slots),
        slots=[
            SlotCredentials(
                index=s.slot_index,
                server=settings.sip_host,
                port=settings.sip_port,
                transport=settings.sip_transport,
                user=s.auth_name,
                auth_name=s.auth_name,
                password=extension.password,
            )
            for s in slots
        ],
    )


def _is_committed(session: SessionDep, extension: Extension, slots: list[Slot]) -> bool:
    _revision, state = committed_state(session)
    if state is None:
        return False
    for committed in state["extensions"]:
        if committed["number"] == extension.number:
            return committed["password"] == extension.password and [
                s["auth_name"] for s in committed["slots"]
            ] == [s.auth_name for s in slots]
    return False
