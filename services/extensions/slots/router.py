"""`/api/v1/extensions/{number}/slots`: list slots with registration, edit ring modes."""

from __future__ import annotations

from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.extensions.asterisk_link import ContactView
from services.extensions.context import LinkDep, WriteDep
from services.extensions.extension import service
from services.extensions.extension.router import slot_summary
from services.extensions.slots import service as slots
from services.extensions.slots.schemas import RingModeUpdate, SlotPublic
from services.extensions.tables import Slot

router = protected_router()
router.tags = ["slots"]
PATH = "/api/v1/extensions/{number}/slots"


def _public(slot: Slot, view: ContactView) -> SlotPublic:
    return SlotPublic(
        **slot_summary(slot).model_dump(), registration=view.status, user_agent=view.user_agent
    )


@router.get(
    PATH,
    response_model=list[SlotPublic],
    summary="The extension's slots, with registration when Asterisk is linked",
    responses=problem_responses(401, 404),
)
def list_slots(number: str, session: SessionDep, link: LinkDep) -> list[SlotPublic]:
    service.get_extension(session, number)
    slots = service.slots_of(session, number)
    views = link.contacts([s.auth_name for s in slots])
    return [_public(s, views[s.auth_name]) for s in slots]


@router.get(
    PATH + "/{auth_name}",
    response_model=SlotPublic,
    summary="One slot",
    responses=problem_responses(401, 404),
)
def get_slot(number: str, auth_name: str, session: SessionDep, link: LinkDep) -> SlotPublic:
    slot = slots.get_slot(session, number, auth_name)
    return _public(slot, link.contacts([auth_name])[auth_name])


@router.patch(
    PATH + "/{auth_name}",
    response_model=SlotPublic,
    summary="Set a slot's ring mode (takes effect at the next telephony commit)",
    responses=problem_responses(401, 404, 422),
)
def update_slot(number: str, auth_name: str, body: RingModeUpdate, ctx: WriteDep) -> SlotPublic:
    slot = slots.set_ring_mode(ctx, number, auth_name, body)
    return _public(slot, ctx.link.contacts([auth_name])[auth_name])
