"""The licensing saga: reserve before writing, confirm on commit, release on rollback."""

from __future__ import annotations

import pytest

from tests.extensions.conftest import extension_body


async def create(api, number="100", **fields):
    return await api.post("/api/v1/extensions", json=extension_body(number, **fields))


async def test_create_holds_a_user_and_one_shared_device_per_secondary_slot(api, licensing):
    assert (await create(api, shared={"enabled": True, "max_devices": 3})).status_code == 201
    assert licensing.holders("users", "confirmed") == {"ext:100"}
    assert licensing.holders("shared_devices", "confirmed") == {"slot:100_2", "slot:100_3"}


async def test_exhausted_pool_is_409_naming_the_pool_and_nothing_changes(api, licensing):
    licensing.capacity["shared_devices"] = 1
    response = await create(api, shared={"enabled": True, "max_devices": 3})
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:shareline:problem:pool-exhausted"
    assert (body["pool"], body["capacity"], body["used"], body["requested"]) == (
        "shared_devices",
        1,
        0,
        2,
    )
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0
    # The users unit reserved first was given back when the write rolled back.
    assert licensing.holders("users") == set()
    assert licensing.holders("shared_devices") == set()


async def test_licensing_down_is_503_and_nothing_changes(api, licensing):
    licensing.down = True
    response = await create(api, shared={"enabled": True, "max_devices": 2})
    assert response.status_code == 503
    assert response.json()["service"] == "licensing"
    assert response.headers["content-type"] == "application/problem+json"
    licensing.down = False
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0
    assert licensing.holders("users") == set()


async def test_raising_max_devices_is_all_or_nothing(api, licensing):
    await create(api, shared={"enabled": True, "max_devices": 2})
    licensing.capacity["shared_devices"] = 2
    response = await api.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 4}})
    assert response.status_code == 409 and response.json()["pool"] == "shared_devices"
    body = (await api.get("/api/v1/extensions/100")).json()
    assert [s["auth_name"] for s in body["slots"]] == ["100", "100_2"]
    assert licensing.holders("shared_devices") == {"slot:100_2"}


async def test_raise_while_licensing_is_down_is_503_and_adds_no_slot(api, licensing):
    await create(api)
    licensing.down = True
    response = await api.patch(
        "/api/v1/extensions/100", json={"shared": {"enabled": True, "max_devices": 2}}
    )
    assert response.status_code == 503
    licensing.down = False
    assert len((await api.get("/api/v1/extensions/100")).json()["slots"]) == 1
    assert licensing.holders("shared_devices") == set()


async def test_a_write_failing_after_the_reservation_releases_it(api, licensing, monkeypatch):
    def crash(*_args, **_kwargs):
        raise RuntimeError("crash between reservation and commit")

    monkeypatch.setattr("services.extensions.extension.service.audit.record", crash)
    with pytest.raises(RuntimeError):
        await create(api, shared={"enabled": True, "max_devices": 2})
    monkeypatch.undo()
    assert (await api.get("/api/v1/extensions")).json()["total"] == 0
    assert licensing.holders("users") == set() and licensing.holders("shared_devices") == set()


async def test_rollback_never_releases_a_holder_another_request_committed(api, licensing):
    # The loser of two concurrent creates of 100 (PostgreSQL: both pass the first check)
    # rolls back; the winner's ext:100 must stay held.
    await create(api)
    seam = api.app.state.license_seam
    licensing.held["users"]["ext:200"] = "reserved"
    seam._release_unkept("users", ["ext:100", "ext:200"], "loser-key", (None, None))
    assert licensing.holders("users") == {"ext:100"}


async def test_lowering_and_deleting_release_units_and_report_the_inventory(api, licensing):
    await create(api, shared={"enabled": True, "max_devices": 3})
    await api.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 2}})
    assert licensing.holders("shared_devices") == {"slot:100_2"}
    assert licensing.inventories[-1]["holders"] == {
        "users": ["ext:100"],
        "shared_devices": ["slot:100_2"],
    }
    await api.delete("/api/v1/extensions/100")
    assert licensing.holders("users") == set() and licensing.holders("shared_devices") == set()
    assert licensing.inventories[-1]["holders"] == {"users": [], "shared_devices": []}


async def test_inventory_is_reported_at_startup(make_api, licensing):
    await make_api()
    assert licensing.inventories == [
        {
            "holders": {"users": [], "shared_devices": []},
            "taken_at": licensing.inventories[0]["taken_at"],
        }
    ]


async def test_startup_survives_licensing_being_down(make_api, licensing):
    licensing.down = True
    api = await make_api()
    assert (await api.get("/api/v1/extensions")).status_code == 200


async def test_client_idempotency_key_is_reused_for_the_reservation(api, licensing):
    headers = {"Idempotency-Key": "create-100-once"}
    body = extension_body(shared={"enabled": True, "max_devices": 2})
    assert (await api.post("/api/v1/extensions", json=body, headers=headers)).status_code == 201
    assert "create-100-once:reserve:users" in licensing.answers
    assert "create-100-once:reserve:shared_devices" in licensing.answers


async def test_a_lost_confirmation_is_retried_until_licensing_acknowledges_it(api, licensing):
    licensing.confirm_down = True
    assert (await create(api, shared={"enabled": True, "max_devices": 2})).status_code == 201
    assert licensing.holders("users", "reserved") == {"ext:100"}
    licensing.confirm_down = False
    api.app.state.license_seam.push_inventory()  # what start-up and removals do
    assert licensing.holders("users", "confirmed") == {"ext:100"}
    assert licensing.holders("shared_devices", "confirmed") == {"slot:100_2"}
    from sqlmodel import Session, select

    from services.extensions.tables import PendingConfirmation

    with Session(api.app.state.engine) as session:
        assert session.exec(select(PendingConfirmation)).all() == []


async def test_confirmed_reservations_leave_nothing_pending(api):
    await create(api)
    from sqlmodel import Session, select

    from services.extensions.tables import PendingConfirmation

    with Session(api.app.state.engine) as session:
        assert session.exec(select(PendingConfirmation)).all() == []
