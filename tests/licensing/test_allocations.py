"""Reserve → confirm → release through the app: counting, idempotency, refusals, reconcile."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.licensing.app import create_app
from tests.licensing.conftest import Licensing, MovableClock, Vendor, headers, token

PROBLEM = "urn:shareline:problem:"


async def test_reserve_confirm_release_counts_one_unit(licensing: Licensing) -> None:
    reserved = await licensing.reserve("shared_devices", ["slot:100_2"], "k1")
    assert reserved.status_code == 201, reserved.text
    body = reserved.json()
    assert body["pool"] == "shared_devices"
    assert body["holders"] == ["slot:100_2"]
    assert body["state"] == "reserved"
    assert await licensing.used("shared_devices") == 1
    confirmed = await licensing.confirm(body["id"])
    assert confirmed.status_code == 200
    assert confirmed.json()["state"] == "confirmed"
    assert (await licensing.confirm(body["id"])).status_code == 200  # idempotent
    listed = await licensing.client.get(
        "/api/v1/license/allocations", params={"holder": "slot:100_2"}, headers=headers()
    )
    assert [(a["state"], a["owner"]) for a in listed.json()["items"]] == [
        ("confirmed", "extensions")
    ]
    released = await licensing.release("shared_devices", ["slot:100_2"])
    assert released.json() == {"released": 1}
    assert await licensing.used("shared_devices") == 0
    again = await licensing.client.post(
        "/internal/v1/releases",
        json={"pool": "shared_devices", "holders": ["slot:100_2"]},
        headers=headers("extensions", **{"Idempotency-Key": "other"}),
    )
    assert again.json() == {"released": 0}


async def test_exhausted_pool_refuses_all_or_nothing_naming_the_pool(licensing: Licensing) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 108)])
    response = await licensing.reserve("users", ["ext:200", "ext:201", "ext:202"], "big")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == PROBLEM + "pool-exhausted"
    assert (problem["pool"], problem["capacity"], problem["used"], problem["requested"]) == (
        "users",
        10,
        8,
        3,
    )
    assert "users" in problem["detail"]
    assert await licensing.used("users") == 8
    fits = await licensing.reserve("users", ["ext:200", "ext:201"], "fits")
    assert fits.status_code == 201
    assert await licensing.used("users") == 10


async def test_a_holder_already_granted_is_not_counted_twice(licensing: Licensing) -> None:
    await licensing.allocate("users", ["ext:100"])
    again = await licensing.reserve("users", ["ext:100", "ext:101"], "second")
    assert again.status_code == 201
    assert await licensing.used("users") == 2
    first = await licensing.reserve("users", ["ext:102"], "lost-answer")
    retry = await licensing.reserve("users", ["ext:102"], "retry-with-new-key")
    assert first.json()["id"] != retry.json()["id"]
    assert await licensing.used("users") == 3
    assert (await licensing.confirm(retry.json()["id"])).status_code == 200


async def test_same_idempotency_key_sequential_gives_one_allocation(licensing: Licensing) -> None:
    answers = [await licensing.reserve("users", ["ext:100"], "same") for _ in range(5)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await licensing.used("users") == 1


async def test_same_idempotency_key_concurrent_gives_one_allocation(licensing: Licensing) -> None:
    answers = await asyncio.gather(
        *[licensing.reserve("users", ["ext:100", "ext:101"], "same") for _ in range(5)]
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await licensing.used("users") == 2


async def test_same_idempotency_key_with_another_body_is_422(licensing: Licensing) -> None:
    assert (await licensing.reserve("users", ["ext:100"], "k")).status_code == 201
    other = await licensing.reserve("users", ["ext:101"], "k")
    assert other.status_code == 422
    assert other.json()["type"] == PROBLEM + "idempotency-key-reused"
    assert await licensing.used("users") == 1
    release = await licensing.client.post(
        "/internal/v1/releases",
        json={"pool": "users", "holders": ["ext:100"]},
        headers=headers("extensions", **{"Idempotency-Key": "rel"}),
    )
    assert release.json() == {"released": 1}
    reused = await licensing.client.post(
        "/internal/v1/releases",
        json={"pool": "users", "holders": ["ext:999"]},
        headers=headers("extensions", **{"Idempotency-Key": "rel"}),
    )
    assert reused.status_code == 422


async def test_fifty_parallel_requests_for_the_last_unit_grant_exactly_one(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 109)])
    answers = await asyncio.gather(
        *[licensing.reserve("users", [f"ext:{500 + i}"], f"last-{i}") for i in range(50)]
    )
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 1
    assert codes.count(409) == 49
    assert await licensing.used("users") == 10


@pytest.mark.parametrize(
    "body",
    [
        {"pool": "users", "holders": ["slot:100_2"]},
        {"pool": "users", "holders": ["ext:100", "ext:100"]},
        {"pool": "users", "holders": ["ext:100\n[evil]"]},
        {"pool": "users", "holders": ["ext:100;x"]},
        {"pool": "users", "holders": []},
        {"pool": "gold", "holders": ["ext:100"]},
        {"pool": "users", "holders": ["ext:" + "1" * 65]},
    ],
)
async def test_bad_reservations_are_422_and_change_nothing(licensing: Licensing, body) -> None:
    response = await licensing.client.post(
        "/internal/v1/reservations",
        json=body,
        headers=headers("extensions", **{"Idempotency-Key": "bad"}),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await licensing.used("users") == 0


async def test_reserve_needs_an_idempotency_key(licensing: Licensing) -> None:
    response = await licensing.client.post(
        "/internal/v1/reservations",
        json={"pool": "users", "holders": ["ext:100"]},
        headers=headers("extensions"),
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


async def test_confirming_an_unknown_reservation_is_404(licensing: Licensing) -> None:
    response = await licensing.confirm("nope")
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "reservation-not-found"


async def test_unconfirmed_reservation_is_released_by_reconcile(licensing: Licensing) -> None:
    await licensing.allocate("users", ["ext:100"])
    crashed = await licensing.reserve("users", ["ext:101", "ext:102"], "crash")
    assert await licensing.used("users") == 3
    licensing.clock.advance(seconds=30)
    early = await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert early.json()["released"]["users"] == 0
    licensing.clock.advance(seconds=31)
    report = await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert report.status_code == 200
    assert report.json()["expired_reservations"] == [
        {"reservation_id": crashed.json()["id"], "pool": "users", "holders": ["ext:101", "ext:102"]}
    ]
    assert await licensing.used("users") == 1
    # a late confirm takes the units again while they are free
    late = await licensing.confirm(crashed.json()["id"])
    assert late.status_code == 200
    assert await licensing.used("users") == 3


async def test_late_confirm_after_the_units_were_taken_is_refused(licensing: Licensing) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 109)])
    crashed = await licensing.reserve("users", ["ext:200"], "crash")
    licensing.clock.advance(seconds=61)
    await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    await licensing.allocate("users", ["ext:300"])
    late = await licensing.confirm(crashed.json()["id"])
    assert late.status_code == 409
    assert late.json()["type"] == PROBLEM + "reservation-expired"
    assert await licensing.used("users") == 10


async def test_periodic_reconciler_releases_expired_reservations(
    lifespan_client, make_settings
) -> None:
    clock = MovableClock()
    app = create_app(make_settings(license_reconcile_interval_seconds=0.05))
    app.state.clock = clock
    client = await lifespan_client(app)
    licensing = Licensing(client, clock, app)
    await licensing.reserve("softphones", ["softphone:abc"], "k")
    assert await licensing.used("softphones") == 1
    clock.advance(seconds=61)
    for _ in range(200):
        # the reconciler runs meanwhile: compare counter and rows only once it is done
        if await licensing.used("softphones", cross_check=False) == 0:
            break
        await asyncio.sleep(0.05)
    assert await licensing.used("softphones") == 0


async def test_inventory_reconcile_releases_orphans_only(licensing: Licensing) -> None:
    await licensing.allocate("users", ["ext:100", "ext:101", "ext:102"])
    licensing.clock.advance(seconds=20)
    taken_at = licensing.clock.now
    licensing.clock.advance(seconds=1)
    # confirmed after the inventory was taken: the inventory cannot know it yet
    await licensing.allocate("users", ["ext:103"])
    report = await licensing.client.put(
        "/internal/v1/inventory/extensions",
        json={"holders": {"users": ["ext:100"]}, "taken_at": taken_at.isoformat()},
        headers=headers("extensions"),
    )
    assert report.status_code == 204, report.text
    result = await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert sorted(o["holder"] for o in result.json()["orphans"]) == ["ext:101", "ext:102"]
    active = await licensing.client.get(
        "/api/v1/license/allocations", params={"pool": "users"}, headers=headers()
    )
    assert sorted(a["holder"] for a in active.json()["items"]) == ["ext:100", "ext:103"]
    assert await licensing.used("users") == 2


async def test_inventory_margin_protects_units_confirmed_just_before_it(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", ["ext:100"])
    taken_at = licensing.clock.now + timedelta(seconds=2)
    await licensing.client.put(
        "/internal/v1/inventory/extensions",
        json={"holders": {"users": []}, "taken_at": taken_at.isoformat()},
        headers=headers("extensions"),
    )
    result = await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert result.json()["orphans"] == []
    assert await licensing.used("users") == 1


async def test_a_service_reports_only_its_own_inventory(licensing: Licensing) -> None:
    await licensing.allocate("users", ["ext:100"])
    response = await licensing.client.put(
        "/internal/v1/inventory/extensions",
        json={"holders": {"users": []}, "taken_at": "2030-01-01T00:00:00+00:00"},
        headers=headers("aps"),
    )
    assert response.status_code == 403
    naive = await licensing.client.put(
        "/internal/v1/inventory/extensions",
        json={"holders": {"users": []}, "taken_at": "2030-01-01T00:00:00"},
        headers=headers("extensions"),
    )
    assert naive.status_code == 422
    await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    assert await licensing.used("users") == 1


async def test_expiry_grace_then_refusal_while_existing_units_keep_working(
    licensing: Licensing, vendor: Vendor
) -> None:
    system_id = (await licensing.status())["system_id"]
    assert (await licensing.install(vendor.key(system_id, days=30))).status_code == 200
    await licensing.allocate("users", ["ext:100"])
    licensing.clock.advance(days=20)
    assert "expiring-soon" in [w["code"] for w in (await licensing.status())["warnings"]]
    licensing.clock.advance(days=11)  # expired one day ago: grace
    status = await licensing.status()
    assert status["license"]["status"] == "grace"
    assert "grace" in [w["code"] for w in status["warnings"]]
    assert (await licensing.reserve("users", ["ext:101"], "in-grace")).status_code == 201
    licensing.clock.advance(days=7)  # grace (7 days) is over
    status = await licensing.status()
    assert status["license"]["status"] == "expired"
    assert status["allocations_allowed"] is False
    refused = await licensing.reserve("users", ["ext:102"], "after-grace")
    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "license-expired"
    assert await licensing.used("users") == 2
    assert (await licensing.release("users", ["ext:100"])).json() == {"released": 1}
    fresh = vendor.key(system_id, now=licensing.clock.now, days=365)
    assert (await licensing.install(fresh)).status_code == 200
    assert (await licensing.reserve("users", ["ext:102"], "renewed")).status_code == 201


async def test_downgrade_below_usage_is_accepted_and_blocks_until_back_under(
    licensing: Licensing, vendor: Vendor
) -> None:
    system_id = (await licensing.status())["system_id"]
    await licensing.install(vendor.key(system_id, users=50))
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 105)])
    response = await licensing.install(vendor.key(system_id, users=3))
    assert response.status_code == 200
    pool = response.json()["pools"]["users"]
    assert (pool["capacity"], pool["used"], pool["free"], pool["over_limit"]) == (3, 5, 0, True)
    assert "over-limit" in [w["code"] for w in response.json()["warnings"]]
    refused = await licensing.reserve("users", ["ext:200"], "over")
    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "pool-exhausted"
    assert "over its limit" in refused.json()["detail"]
    await licensing.release("users", ["ext:100", "ext:101", "ext:102"])
    assert (await licensing.reserve("users", ["ext:200"], "under")).status_code == 201


async def test_clock_set_back_is_reported_and_stops_allocations(licensing: Licensing) -> None:
    licensing.clock.advance(days=1)
    await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    licensing.clock.advance(seconds=-60)  # within tolerance: replicas' clocks differ a little
    assert (await licensing.status())["allocations_allowed"] is True
    licensing.clock.advance(days=-1)
    status = await licensing.status()
    assert "clock-set-back" in [w["code"] for w in status["warnings"]]
    assert status["allocations_allowed"] is False
    refused = await licensing.reserve("users", ["ext:100"], "k")
    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "clock-set-back"
    licensing.clock.advance(days=1)
    assert (await licensing.reserve("users", ["ext:100"], "k")).status_code == 201


async def test_clock_set_back_does_not_revive_an_expired_trial(licensing: Licensing) -> None:
    licensing.clock.advance(days=40)
    await licensing.client.post("/api/v1/license/reconcile", headers=headers())
    licensing.clock.advance(days=-39)
    status = await licensing.status()
    assert status["license"]["status"] == "expired"
    assert {"clock-set-back", "expired"} <= {w["code"] for w in status["warnings"]}


async def test_audit_names_the_person_or_the_service(licensing: Licensing) -> None:
    await licensing.allocate("users", ["ext:100"])
    await licensing.client.post(
        "/internal/v1/releases",
        json={"pool": "users", "holders": ["ext:100"]},
        headers={"X-Service-Token": token("extensions", user=None)},
    )
    audit = (await licensing.client.get("/api/v1/license/audit", headers=headers())).json()
    assert [(e["action"], e["actor"]) for e in audit["items"]] == [
        ("released", "service:extensions"),
        ("confirmed", "alice"),
        ("reserved", "alice"),
    ]
    paged = await licensing.client.get(
        "/api/v1/license/audit", params={"limit": 1, "offset": 1}, headers=headers()
    )
    assert [e["action"] for e in paged.json()["items"]] == ["confirmed"]
    assert paged.json()["total"] == 3


@pytest.mark.parametrize(
    ("path", "param"),
    [("/api/v1/license/audit", "action"), ("/api/v1/license/allocations", "holder")],
)
async def test_a_filter_with_a_nul_or_control_byte_is_refused_as_a_problem(
    licensing: Licensing, path: str, param: str
) -> None:
    # PostgreSQL cannot hold NUL in text: such a filter was a 500 there (schemathesis).
    for bad in ("C\x1c\x00x", "ext:100\x00"):
        answer = await licensing.client.get(path, params={param: bad}, headers=headers())
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_cancel_gives_back_only_what_the_reservation_newly_took(
    licensing: Licensing,
) -> None:
    await licensing.allocate("users", ["ext:100"])
    reserved = await licensing.reserve("users", ["ext:100", "ext:101"], "rolled-back")
    assert await licensing.used("users") == 2
    reservation_id = reserved.json()["id"]
    cancelled = await licensing.client.post(
        f"/internal/v1/reservations/{reservation_id}/cancel",
        headers=headers("extensions", **{"Idempotency-Key": "cancel-1"}),
    )
    assert cancelled.json() == {"released": 1}
    active = await licensing.client.get(
        "/api/v1/license/allocations", params={"pool": "users"}, headers=headers()
    )
    assert [(a["holder"], a["state"]) for a in active.json()["items"]] == [("ext:100", "confirmed")]
    again = await licensing.client.post(
        f"/internal/v1/reservations/{reservation_id}/cancel",
        headers=headers("extensions", **{"Idempotency-Key": "cancel-2"}),
    )
    assert again.json() == {"released": 0}
    assert await licensing.used("users") == 1


async def test_a_confirmed_reservation_cannot_be_cancelled(licensing: Licensing) -> None:
    reserved = await licensing.reserve("users", ["ext:100"], "k")
    await licensing.confirm(reserved.json()["id"])
    refused = await licensing.client.post(
        f"/internal/v1/reservations/{reserved.json()['id']}/cancel",
        headers=headers("extensions", **{"Idempotency-Key": "c"}),
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "reservation-confirmed"
    assert await licensing.used("users") == 1


async def test_the_reconciler_forgets_idempotency_keys_after_two_days(
    licensing: Licensing,
) -> None:
    from services.licensing.app import reconcile_once

    assert (await licensing.reserve("users", ["ext:100"], "old-key")).status_code == 201
    licensing.clock.advance(days=1)
    reconcile_once(licensing.app.state.engine, licensing.clock)
    assert (await licensing.reserve("users", ["ext:101"], "old-key")).status_code == 422
    licensing.clock.advance(days=1, seconds=1)
    reconcile_once(licensing.app.state.engine, licensing.clock)
    assert (await licensing.reserve("users", ["ext:101"], "old-key")).status_code == 201


async def test_allocation_outcomes_are_counted_for_prometheus(licensing: Licensing) -> None:
    await licensing.allocate("users", [f"ext:{n}" for n in range(100, 110)])
    refused = await licensing.reserve("users", ["ext:300"], "one-too-many")
    assert refused.status_code == 409
    assert (await licensing.release("users", ["ext:100"])).status_code == 200
    text = (await licensing.client.get("/metrics")).text
    assert 'shareline_allocations_total{outcome="granted",pool="users"} 1.0' in text
    assert 'shareline_allocations_total{outcome="pool-exhausted",pool="users"} 1.0' in text
    assert 'shareline_allocations_total{outcome="released",pool="users"} 1.0' in text
