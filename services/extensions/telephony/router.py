"""`/api/v1/telephony/...`: pending changes, commits, revisions, their files, rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.common.bounds import MAX_DB_INT
from services.common.db import on_commit
from services.common.deps import SessionDep
from services.common.errors import problem_responses
from services.common.memory import release_freed_memory_soon
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep
from services.extensions.context import SecretReaderDep, SettingsDep
from services.extensions.telephony import commits
from services.extensions.telephony.changes import diff_states
from services.extensions.telephony.schemas import (
    Changes,
    CommitResult,
    RevisionPage,
    RevisionPublic,
)
from services.extensions.telephony.state import build_state

router = protected_router()
router.tags = ["telephony"]


def _committer(request: Request) -> commits.Committer:
    committer: commits.Committer = request.app.state.committer
    return committer


def _result(outcome: commits.CommitOutcome, session: SessionDep) -> JSONResponse:
    summary = commits.outcome_summary(outcome)
    body = CommitResult(changed=outcome.changed, revision=RevisionPublic.model_validate(summary))
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if outcome.changed else 200)


@router.get(
    "/api/v1/telephony/changes",
    response_model=Changes,
    summary="What the next telephony commit would change",
    responses=problem_responses(401),
)
def pending_changes(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    revision, committed = commits.committed_state(session)
    diff = diff_states(committed, build_state(session, settings))
    return {"base_revision": revision.rev if revision else None, **diff}


@router.post(
    "/api/v1/telephony/commits",
    response_model=CommitResult,
    status_code=201,
    summary="Commit: render the pending state into a new revision and deploy it",
    description="201 with the new revision; 200 with `changed: false` and the current "
    "revision when the output would be byte-identical (nothing is written or reloaded). "
    "A failed deploy is recorded on the revision (`deploy.status`), the previous revision "
    "stays live.",
    responses={
        200: {"model": CommitResult, "description": "Nothing changed"},
        **problem_responses(401, 422, 503),
    },
)
def commit(request: Request, session: SessionDep, caller: CallerDep) -> JSONResponse:
    outcome = _committer(request).commit(session, caller.actor)
    on_commit(session, release_freed_memory_soon)  # the render's heap, back to the system
    return _result(outcome, session)


RevisionPath = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="Revision number")]


@router.get(
    "/api/v1/telephony/commits",
    response_model=RevisionPage,
    summary="Telephony revisions, newest first",
    responses=problem_responses(401, 422),
)
def list_commits(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> dict[str, Any]:
    current = commits.current_revision(session)
    return {
        "current_revision": current.rev if current else None,
        "items": [
            commits.revision_summary(r) for r in commits.list_revisions(session, limit, offset)
        ],
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/api/v1/telephony/commits/{rev}",
    response_model=RevisionPublic,
    summary="One revision with its file list",
    responses=problem_responses(401, 404),
)
def get_commit(rev: RevisionPath, session: SessionDep) -> dict[str, Any]:
    revision = commits.get_revision(session, rev)
    return commits.revision_summary(revision, commits.revision_files(session, rev))


@router.get(
    "/api/v1/telephony/commits/{rev}/files/{name}",
    summary="One file of a revision, byte for byte (it carries SIP passwords)",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"example": "[100]\ntype=endpoint\n..."}},
            "description": "The file",
        },
        **problem_responses(401, 403, 404),
    },
)
def get_commit_file(
    rev: RevisionPath, name: str, session: SessionDep, _reader: SecretReaderDep
) -> Response:
    content = commits.revision_file(session, rev, name)
    return Response(
        content,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post(
    "/api/v1/telephony/commits/{rev}/rollback",
    response_model=CommitResult,
    status_code=201,
    summary="Re-deploy an older revision's files byte for byte, as a new revision",
    description="The extension data is not changed: afterwards `GET /api/v1/telephony/changes` "
    "shows what the next commit would re-apply. Rolling back to the current revision "
    "answers 200 with `changed: false`.",
    responses={
        200: {"model": CommitResult, "description": "Already live"},
        **problem_responses(401, 404, 503),
    },
)
def rollback(
    rev: RevisionPath, request: Request, session: SessionDep, caller: CallerDep
) -> JSONResponse:
    outcome = _committer(request).rollback(session, rev, caller.actor)
    return _result(outcome, session)
