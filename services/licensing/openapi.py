"""OpenAPI `responses=` for licensing routes: problem+json with the problems each can raise."""

from __future__ import annotations

from typing import Any

from services.common.errors import PROBLEM_MEDIA_TYPE, ProblemError, problem_responses


def problems(*statuses: int, examples: tuple[ProblemError, ...] = ()) -> dict[int | str, Any]:
    """`problem_responses(*statuses)`, each status showing the specific problems given."""
    responses = problem_responses(*statuses)
    for problem in examples:
        body = problem.to_problem()
        response = responses.setdefault(
            body["status"],
            {"description": body["title"], "content": {PROBLEM_MEDIA_TYPE: {}}},
        )
        content = response["content"][PROBLEM_MEDIA_TYPE]
        content.setdefault("schema", {"$ref": "#/components/schemas/Problem"})
        content.pop("example", None)
        content.setdefault("examples", {})[problem.slug] = {"summary": body["title"], "value": body}
    return responses
