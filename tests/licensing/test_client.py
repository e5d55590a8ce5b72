"""The published client against a mock transport: requests sent, answers and errors mapped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from services.common.errors import ServiceUnavailable
from services.common.service_tokens import TokenMinter
from services.licensing.client import (
    LicenseExpired,
    LicensingClient,
    LicensingProblem,
    PoolExhausted,
)

SECRET = "client-test-secret-0123456789abcdef0123"


def make_client(handler) -> LicensingClient:
    http = httpx.Client(base_url="http://licensing", transport=httpx.MockTransport(handler))
    minter = TokenMinter(SECRET, issuer="extensions", audience="licensing")
    return LicensingClient("http://licensing", minter, http=http, retries=2)


def problem(status: int, slug: str, title: str = "Problem", **members) -> httpx.Response:
    body = {"type": f"urn:shareline:problem:{slug}", "title": title, "status": status, **members}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_reserve_sends_pool_holders_key_and_person() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201,
            json={
                "id": "r1",
                "pool": "shared_devices",
                "holders": ["slot:100_2"],
                "state": "reserved",
                "expires_at": "2026-11-26T08:00:00+00:00",
            },
        )

    reservation = make_client(handler).reserve(
        "shared_devices", ["slot:100_2"], idempotency_key="k1", actor=("alice", "admin")
    )
    assert reservation.id == "r1"
    assert reservation.holders == ("slot:100_2",)
    assert reservation.expires_at == datetime(2026, 11, 26, 8, tzinfo=UTC)
    request = seen[0]
    assert request.url.path == "/internal/v1/reservations"
    assert request.headers["Idempotency-Key"] == "k1"
    assert json.loads(request.content) == {"pool": "shared_devices", "holders": ["slot:100_2"]}
    assert "X-Service-Token" in request.headers


def test_exhausted_pool_becomes_pool_exhausted_that_renders_the_same() -> None:
    answer = problem(
        409,
        "pool-exhausted",
        title=PoolExhausted.title,
        detail="full",
        pool="users",
        capacity=10,
        used=10,
        requested=1,
    )
    client = make_client(lambda request: answer)
    with pytest.raises(PoolExhausted) as caught:
        client.reserve("users", ["ext:100"], idempotency_key="k")
    rendered = caught.value.to_problem()
    assert rendered == answer.json()
    assert (caught.value.pool, caught.value.capacity, caught.value.used) == ("users", 10, 10)


def test_other_known_and_unknown_problems_are_mapped() -> None:
    client = make_client(lambda request: problem(409, "license-expired", detail="expired"))
    with pytest.raises(LicenseExpired):
        client.reserve("users", ["ext:100"], idempotency_key="k")
    odd = problem(422, "something-new", detail="odd", extra=1)
    client = make_client(lambda request: odd)
    with pytest.raises(LicensingProblem) as caught:
        client.release("users", ["ext:100"], idempotency_key="k")
    assert caught.value.to_problem("/x") == {**odd.json(), "instance": "/x"}


def test_unreachable_licensing_fails_closed_with_503() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServiceUnavailable) as caught:
        make_client(handler).reserve("users", ["ext:100"], idempotency_key="k")
    assert caught.value.extra["service"] == "licensing"
    assert len(calls) == 3  # the Idempotency-Key makes retrying safe


def test_busy_licensing_is_retried_then_reported_unavailable() -> None:
    answers = [problem(503, "service-unavailable"), httpx.Response(200, json={"released": 2})]
    client = make_client(lambda request: answers.pop(0))
    assert client.release("users", ["ext:1", "ext:2"], idempotency_key="k") == 2
    client = make_client(lambda request: problem(503, "service-unavailable"))
    with pytest.raises(ServiceUnavailable):
        client.confirm("r1", idempotency_key="k")


def test_report_inventory_puts_the_owner_list() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    taken = datetime(2026, 11, 26, 9, tzinfo=UTC)
    make_client(handler).report_inventory("extensions", {"users": ["ext:100"]}, taken)
    assert seen[0].method == "PUT"
    assert seen[0].url.path == "/internal/v1/inventory/extensions"
    assert json.loads(seen[0].content) == {
        "holders": {"users": ["ext:100"]},
        "taken_at": "2026-11-26T09:00:00+00:00",
    }


def test_cancel_posts_to_the_reservation_and_returns_the_count() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"released": 1})

    assert make_client(handler).cancel("r1", idempotency_key="k") == 1
    assert seen[0].url.path == "/internal/v1/reservations/r1/cancel"
    assert seen[0].headers["Idempotency-Key"] == "k"
