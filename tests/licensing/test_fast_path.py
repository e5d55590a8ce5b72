"""Reservations past FastAPI's router (allocations/fast_path.py) answer as the routed ones.

A well-formed reservation is taken by the fast path; anything else reaches the routed
endpoint with its body intact. Which one answered is seen through the routed endpoint's
token dependency: the fast path never calls it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from fastapi import Request
from sqlalchemy.exc import OperationalError

from services.common.service_tokens import Caller, require_caller
from services.licensing.deps import caller_on_loop
from tests.licensing.conftest import Licensing, headers, token

PROBLEM = "urn:shareline:problem:"
PATH = "/internal/v1/reservations"


@pytest.fixture
def routed(licensing: Licensing) -> list[str]:
    """Paths of the reservations the routed endpoint answered."""
    seen: list[str] = []

    async def spy(request: Request) -> Caller:
        seen.append(request.url.path)
        return require_caller(request)

    licensing.app.dependency_overrides[caller_on_loop] = spy
    return seen


async def post(licensing: Licensing, body: Any, **extra: str) -> Any:
    send = {"X-Service-Token": token("extensions"), "Idempotency-Key": "k1", **extra}
    send = {name: value for name, value in send.items() if value}
    content = body if isinstance(body, bytes) else None
    return await licensing.client.post(
        PATH, content=content, json=None if content else body, headers=send
    )


async def test_a_well_formed_reservation_skips_the_router_and_is_counted_alike(
    licensing: Licensing, routed: list[str]
) -> None:
    granted = await post(licensing, {"pool": "users", "holders": ["ext:100"]})
    assert granted.status_code == 201, granted.text
    assert granted.headers["content-type"] == "application/json"
    assert granted.json()["holders"] == ["ext:100"]
    assert routed == []
    replay = await post(licensing, {"pool": "users", "holders": ["ext:100"]})
    assert replay.json() == granted.json()
    metrics = (await licensing.client.get("/metrics")).text
    assert (
        'shareline_http_requests_total{method="POST",route="/internal/v1/reservations",'
        'status="201"} 2.0' in metrics
    )
    assert 'shareline_allocations_total{outcome="granted",pool="users"} 2.0' in metrics
    assert await licensing.used("users") == 1


async def test_a_refusal_on_the_fast_path_is_the_same_problem_document(
    licensing: Licensing, routed: list[str]
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 110)])
    routed.clear()
    refused = await post(
        licensing, {"pool": "users", "holders": ["ext:300"]}, **{"Idempotency-Key": "x"}
    )
    assert routed == []
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == {
        "type": PROBLEM + "pool-exhausted",
        "title": "License pool exhausted",
        "status": 409,
        "detail": "the users pool is exhausted: 10 of 10 in use, 1 requested",
        "instance": PATH,
        "pool": "users",
        "capacity": 10,
        "used": 10,
        "requested": 1,
    }


@pytest.mark.parametrize(
    ("body", "extra", "status"),
    [
        ({"pool": "users", "holders": ["ext:100"]}, {"X-Service-Token": ""}, 401),
        ({"pool": "users", "holders": ["ext:100"]}, {"X-Service-Token": "forged"}, 401),
        ({"pool": "users", "holders": ["ext:100"]}, {"Idempotency-Key": ""}, 422),
        ({"pool": "users", "holders": ["ext:100"]}, {"Idempotency-Key": "k" * 201}, 422),
        ({"pool": "users", "holders": ["slot:100_2"]}, {}, 422),
        ({"pool": "users", "holders": ["ext:100"], "extra": 1}, {}, 422),
        (b'{"pool": "users", "holders": ["ext:100"]', {}, 422),
    ],
)
async def test_anything_malformed_is_answered_by_the_routed_endpoint(
    licensing: Licensing, routed: list[str], body: Any, extra: dict[str, str], status: int
) -> None:
    answer = await post(licensing, body, **extra)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert await licensing.used("users") == 0
    if status == 422:
        assert routed == [PATH]  # reached the endpoint: the token was checked there too


async def test_a_body_in_another_media_type_is_left_to_the_router(
    licensing: Licensing, routed: list[str]
) -> None:
    answer = await post(
        licensing,
        b'{"pool": "users", "holders": ["ext:100"]}',
        **{"Content-Type": "application/merge-patch+json"},
    )
    assert routed == [PATH]
    assert answer.status_code == 201  # FastAPI reads any JSON media type


@pytest.mark.parametrize(
    ("failure", "status", "slug"),
    [
        (RuntimeError("boom"), 500, "internal-error"),
        (
            OperationalError("COMMIT", None, sqlite3.OperationalError("database is locked")),
            503,
            "service-unavailable",
        ),
    ],
)
async def test_unexpected_failures_get_the_apps_own_problem_answers(
    licensing: Licensing,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    status: int,
    slug: str,
) -> None:
    async def fail(**_: Any) -> None:
        raise failure

    monkeypatch.setattr(licensing.app.state.write_batcher, "submit", fail)
    answer = await post(licensing, {"pool": "users", "holders": ["ext:100"]})
    assert routed == []
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM + slug
    assert "boom" not in answer.text


async def test_other_routes_and_methods_pass_through(licensing: Licensing) -> None:
    listed = await licensing.client.get(PATH, headers=headers())
    assert listed.status_code == 405
    confirm = await licensing.confirm("nope")
    assert confirm.status_code == 404
