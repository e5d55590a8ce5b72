"""`/api/v1/queues`: queues and agent login/logout."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import JSONResponse

from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.extensions.context import WriteDep
from services.extensions.queues import service
from services.extensions.queues.schemas import AgentLogin, AgentPublic, QueueCreate, QueuePublic
from services.extensions.tables import Queue, QueueAgent

router = protected_router()
router.tags = ["queues"]
PATH = "/api/v1/queues"


def _public(queue: Queue, agents: list[QueueAgent]) -> QueuePublic:
    return QueuePublic(
        name=queue.name,
        number=queue.number,
        strategy=queue.strategy,  # type: ignore[arg-type]
        agent_ring_seconds=queue.agent_ring_seconds,
        max_wait_seconds=queue.max_wait_seconds,
        agents=[a.extension_number for a in agents],
        created_at=queue.created_at,
    )


def _agent(agent: QueueAgent) -> AgentPublic:
    return AgentPublic(
        queue=agent.queue_name, extension=agent.extension_number, logged_in_at=agent.logged_in_at
    )


@router.post(
    PATH,
    status_code=201,
    response_model=QueuePublic,
    summary="Create a queue (rendered at the next telephony commit)",
    responses=problem_responses(401, 409, 422),
)
def create_queue(body: QueueCreate, ctx: WriteDep) -> QueuePublic:
    return _public(service.create_queue(ctx, body), [])


@router.get(
    PATH, response_model=list[QueuePublic], summary="All queues", responses=problem_responses(401)
)
def list_queues(session: SessionDep) -> list[QueuePublic]:
    queues = service.list_queues(session)
    agents = service.agents_by_queue(session, [q.name for q in queues])
    return [_public(q, agents[q.name]) for q in queues]


@router.get(
    PATH + "/{name}",
    response_model=QueuePublic,
    summary="One queue",
    responses=problem_responses(401, 404),
)
def get_queue(name: str, session: SessionDep) -> QueuePublic:
    queue = service.get_queue(session, name)
    return _public(queue, service.agents_by_queue(session, [name])[name])


@router.delete(
    PATH + "/{name}",
    status_code=204,
    response_class=Response,
    summary="Delete a queue and its agent logins",
    responses=problem_responses(401, 404),
)
def delete_queue(name: str, ctx: WriteDep) -> Response:
    service.delete_queue(ctx, name)
    return Response(status_code=204)


@router.get(
    PATH + "/{name}/agents",
    response_model=list[AgentPublic],
    summary="Agents logged in to a queue",
    responses=problem_responses(401, 404),
)
def list_agents(name: str, session: SessionDep) -> list[AgentPublic]:
    service.get_queue(session, name)
    return [_agent(a) for a in service.agents_by_queue(session, [name])[name]]


@router.post(
    PATH + "/{name}/agents",
    status_code=201,
    response_model=AgentPublic,
    summary="Log an agent in (persisted; applied live with QueueAdd when Asterisk is linked)",
    description='Only the primary slot may log in (DESIGN rule 5): `slot: "100_2"` is '
    "refused with 409 `agent-login-secondary-slot` and nothing changes. Logging in again "
    "answers 200 with the existing login.",
    responses={
        200: {"model": AgentPublic, "description": "Already logged in"},
        **problem_responses(401, 404, 409, 422),
    },
)
def login_agent(name: str, body: AgentLogin, ctx: WriteDep) -> JSONResponse:
    agent, created = service.login_agent(ctx, name, body)
    return JSONResponse(_agent(agent).model_dump(mode="json"), status_code=201 if created else 200)


@router.delete(
    PATH + "/{name}/agents/{extension}",
    status_code=204,
    response_class=Response,
    summary="Log an agent out (applied live with QueueRemove when Asterisk is linked)",
    responses=problem_responses(401, 404),
)
def logout_agent(name: str, extension: str, ctx: WriteDep) -> Response:
    service.logout_agent(ctx, name, extension)
    return Response(status_code=204)
