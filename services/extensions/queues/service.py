"""Queues (ACD) and agent logins (DESIGN rule 5: only the primary slot logs in)."""

from __future__ import annotations

from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from services.common.db import on_commit
from services.common.errors import Conflict, NotFound, Unprocessable
from services.extensions import audit, validation
from services.extensions.asterisk.queues_conf import member_interface, state_interface
from services.extensions.context import WriteContext
from services.extensions.extension.errors import NumberTaken
from services.extensions.extension.service import get_extension
from services.extensions.queues.schemas import AgentLogin, QueueCreate
from services.extensions.tables import DialNumber, Queue, QueueAgent, Slot


class QueueNotFound(NotFound):
    slug, title = "queue-not-found", "Queue not found"


class QueueExists(Conflict):
    slug, title = "queue-exists", "Queue already exists"


class AgentNotLoggedIn(NotFound):
    slug, title = "agent-not-logged-in", "Agent not logged in"


class SecondarySlotLogin(Conflict):
    """DESIGN rule 5: an agent logs in from the device carrying the primary slot only."""

    slug, title = "agent-login-secondary-slot", "Agent login refused from a secondary slot"


class UnknownSlot(Unprocessable):
    slug, title = "unknown-slot", "Unknown slot"


def get_queue(session: Session, name: str) -> Queue:
    queue = session.get(Queue, name)
    if queue is None:
        raise QueueNotFound(f"queue {name} does not exist")
    return queue


def list_queues(session: Session) -> list[Queue]:
    return list(session.exec(select(Queue).order_by(col(Queue.name))).all())


def agents_by_queue(session: Session, names: list[str]) -> dict[str, list[QueueAgent]]:
    out: dict[str, list[QueueAgent]] = {n: [] for n in names}
    if names:
        rows = session.exec(select(QueueAgent).where(col(QueueAgent.queue_name).in_(names))).all()
        for row in sorted(rows, key=lambda a: (len(a.extension_number), a.extension_number)):
            out[row.queue_name].append(row)
    return out


def create_queue(ctx: WriteContext, body: QueueCreate) -> Queue:
    session = ctx.session
    if session.get(Queue, body.name) is not None:
        raise QueueExists(f"queue {body.name} already exists")
    if session.get(DialNumber, body.number) is not None:
        raise NumberTaken(f"number {body.number} is already in use")
    try:
        session.add(DialNumber(number=body.number, owner="queue"))
        session.flush()
        queue = Queue(**body.model_dump())
        session.add(queue)
        session.flush()
    except IntegrityError as exc:
        raise QueueExists(f"queue {body.name} or number {body.number} already exists") from exc
    audit.record(session, ctx.actor, "queue.create", body.name, f"number={body.number}")
    return queue


def delete_queue(ctx: WriteContext, name: str) -> None:
    session = ctx.session
    queue = get_queue(session, name)
    session.exec(delete(QueueAgent).where(col(QueueAgent.queue_name) == name))
    session.delete(queue)
    session.flush()
    session.exec(delete(DialNumber).where(col(DialNumber.number) == queue.number))
    audit.record(session, ctx.actor, "queue.delete", name)


def login_agent(ctx: WriteContext, name: str, body: AgentLogin) -> tuple[QueueAgent, bool]:
    """Returns the login and whether it is new; persisted, and applied live when linked."""
    session = ctx.session
    get_queue(session, name)
    get_extension(session, body.extension)
    if body.slot is not None:
        _refuse_secondary(session, body.extension, body.slot)
    existing = session.get(QueueAgent, (name, body.extension))
    if existing is not None:
        return existing, False
    agent = QueueAgent(queue_name=name, extension_number=body.extension)
    try:
        # A savepoint: on PostgreSQL a concurrent login of the same agent can win the
        # insert; that is "already logged in", not an error.
        with session.begin_nested():
            session.add(agent)
    except IntegrityError:
        winner = session.get(QueueAgent, (name, body.extension))
        if winner is None:
            raise
        return winner, False
    number = body.extension
    on_commit(
        session,
        partial(
            ctx.link.queue_add, name, member_interface(number), number, state_interface(number)
        ),
    )
    audit.record(session, ctx.actor, "queue.agent_login", name, f"extension={number}")
    return agent, True


def logout_agent(ctx: WriteContext, name: str, number: str) -> None:
    session = ctx.session
    get_queue(session, name)
    agent = session.get(QueueAgent, (name, number))
    if agent is None:
        raise AgentNotLoggedIn(f"extension {number} is not logged in to queue {name}")
    session.delete(agent)
    on_commit(session, partial(ctx.link.queue_remove, name, member_interface(number)))
    audit.record(session, ctx.actor, "queue.agent_logout", name, f"extension={number}")


def _refuse_secondary(session: Session, number: str, slot_name: str) -> None:
    try:
        owner, index = validation.parse_auth_name(slot_name)
    except ValueError as exc:
        raise UnknownSlot(f"{slot_name!r} is not a slot name", field="slot") from exc
    slot = session.get(Slot, slot_name)
    if owner != number or slot is None:
        raise UnknownSlot(f"extension {number} has no slot {slot_name}", field="slot")
    if index > 1:
        raise SecondarySlotLogin(
            f"{slot_name} is a secondary slot of {number}; an agent logs in only from the "
            f"device carrying the primary slot {number}",
            slot=slot_name,
            primary=number,
        )
