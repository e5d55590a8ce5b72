"""Ring modes, registration through AMI, queues and agent logins (DESIGN rule 5)."""

from __future__ import annotations

import pytest

from tests.extensions.conftest import extension_body
from tests.support.ami_server import FakeAmi, Member


async def create(api, number="100", **fields):
    response = await api.post("/api/v1/extensions", json=extension_body(number, **fields))
    assert response.status_code == 201, response.text


@pytest.fixture
def fake_ami():
    with FakeAmi(endpoints={"100", "100_2", "100_3"}) as ami:
        yield ami


@pytest.fixture
async def linked(make_api, fake_ami):
    config = fake_ami.config()
    return await make_api(
        ami_host=config.host,
        ami_port=config.port,
        ami_username=config.username,
        ami_secret=config.secret,
    )


async def test_ring_modes_are_set_per_slot(api):
    await create(api, shared={"enabled": True, "max_devices": 3})
    assert (
        await api.patch(
            "/api/v1/extensions/100/slots/100_2", json={"ring_mode": "distinctive", "tone": 4}
        )
    ).status_code == 200
    assert (
        await api.patch("/api/v1/extensions/100/slots/100_3", json={"ring_mode": "silent"})
    ).status_code == 200
    slots = (await api.get("/api/v1/extensions/100/slots")).json()
    assert [(s["auth_name"], s["ring_mode"], s["tone"], s["registration"]) for s in slots] == [
        ("100", "ring", None, "unknown"),
        ("100_2", "distinctive", 4, "unknown"),
        ("100_3", "silent", None, "unknown"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"ring_mode": "distinctive"},
        {"ring_mode": "distinctive", "tone": 0},
        {"ring_mode": "distinctive", "tone": 6},
        {"ring_mode": "ring", "tone": 2},
        {"ring_mode": "loud"},
        {"ring_mode": "silent", "extra": 1},
    ],
)
async def test_bad_ring_mode_is_422_and_changes_nothing(api, body):
    await create(api, shared={"enabled": True, "max_devices": 2})
    response = await api.patch("/api/v1/extensions/100/slots/100_2", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    slot = (await api.get("/api/v1/extensions/100/slots/100_2")).json()
    assert (slot["ring_mode"], slot["tone"]) == ("ring", None)


async def test_slot_of_another_extension_is_404(api):
    await create(api, shared={"enabled": True, "max_devices": 2})
    await create(api, "101")
    assert (await api.get("/api/v1/extensions/101/slots/100_2")).status_code == 404
    assert (await api.get("/api/v1/extensions/100/slots/100_3")).status_code == 404


async def test_registration_and_user_agent_come_from_asterisk(linked, fake_ami):
    fake_ami.state.contacts["100_2"] = ("sip:100_2@192.0.2.7:5060", "Yealink SIP-T54W", "Avail")
    await create(linked, shared={"enabled": True, "max_devices": 2})
    slots = (await linked.get("/api/v1/extensions/100/slots")).json()
    assert [(s["auth_name"], s["registration"], s["user_agent"]) for s in slots] == [
        ("100", "unregistered", None),
        ("100_2", "registered", "Yealink SIP-T54W"),
    ]


async def test_unreachable_asterisk_shows_unknown(make_api):
    api = await make_api(ami_host="127.0.0.1", ami_port=1, ami_timeout_seconds=0.5)
    await create(api)
    slots = (await api.get("/api/v1/extensions/100/slots")).json()
    assert slots[0]["registration"] == "unknown"


async def test_lowering_is_refused_while_a_removed_slot_is_registered_unless_forced(
    linked, fake_ami, licensing
):
    await create(linked, shared={"enabled": True, "max_devices": 3})
    fake_ami.state.contacts["100_3"] = ("sip:100_3@192.0.2.9", "Linphone", "Avail")
    refused = await linked.patch("/api/v1/extensions/100", json={"shared": {"max_devices": 1}})
    assert refused.status_code == 409
    assert refused.json()["slots"] == ["100_3"]
    assert len((await linked.get("/api/v1/extensions/100")).json()["slots"]) == 3
    assert (await linked.delete("/api/v1/extensions/100")).status_code == 409
    forced = await linked.patch(
        "/api/v1/extensions/100", params={"force": "true"}, json={"shared": {"max_devices": 1}}
    )
    assert forced.status_code == 200 and len(forced.json()["slots"]) == 1
    assert licensing.holders("shared_devices") == set()


async def test_queue_crud_and_number_clash(api):
    await create(api)
    created = await api.post(
        "/api/v1/queues", json={"name": "support", "number": "600", "strategy": "leastrecent"}
    )
    assert created.status_code == 201
    assert created.json()["strategy"] == "leastrecent"
    assert (
        await api.post("/api/v1/queues", json={"name": "sales", "number": "100"})
    ).status_code == 409
    assert (
        await api.post("/api/v1/queues", json={"name": "support", "number": "601"})
    ).status_code == 409
    assert (await api.post("/api/v1/extensions", json=extension_body("600"))).status_code == 409
    assert [q["name"] for q in (await api.get("/api/v1/queues")).json()] == ["support"]
    assert (await api.delete("/api/v1/queues/support")).status_code == 204
    assert (await api.get("/api/v1/queues/support")).status_code == 404
    assert (await api.post("/api/v1/extensions", json=extension_body("600"))).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Support", "number": "600"},
        {"name": "general", "number": "600"},
        {"name": "s", "number": "600"},
        {"name": "sup;port", "number": "600"},
        {"name": "support", "number": "600_2"},
        {"name": "support", "number": "600", "strategy": "ringall,x"},
        {"name": "support", "number": "600", "agent_ring_seconds": 0},
    ],
)
async def test_bad_queue_is_422(api, body):
    response = await api.post("/api/v1/queues", json=body)
    assert response.status_code == 422
    assert (await api.get("/api/v1/queues")).json() == []


async def test_agent_logs_in_from_the_primary_slot_and_out_again(api):
    await create(api, shared={"enabled": True, "max_devices": 2})
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    login = await api.post(
        "/api/v1/queues/support/agents", json={"extension": "100", "slot": "100"}
    )
    assert login.status_code == 201 and login.json()["extension"] == "100"
    again = await api.post("/api/v1/queues/support/agents", json={"extension": "100"})
    assert again.status_code == 200
    assert [a["extension"] for a in (await api.get("/api/v1/queues/support/agents")).json()] == [
        "100"
    ]
    assert (await api.get("/api/v1/queues/support")).json()["agents"] == ["100"]
    assert (await api.delete("/api/v1/queues/support/agents/100")).status_code == 204
    assert (await api.get("/api/v1/queues/support/agents")).json() == []
    assert (await api.delete("/api/v1/queues/support/agents/100")).status_code == 404


async def test_login_from_a_secondary_slot_is_409_and_changes_nothing(api):
    await create(api, shared={"enabled": True, "max_devices": 2})
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    refused = await api.post(
        "/api/v1/queues/support/agents", json={"extension": "100", "slot": "100_2"}
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:shareline:problem:agent-login-secondary-slot"
    assert "primary" in refused.json()["detail"]
    assert (await api.get("/api/v1/queues/support/agents")).json() == []


@pytest.mark.parametrize(
    "body,status",
    [
        ({"extension": "100", "slot": "101"}, 422),
        ({"extension": "100", "slot": "100_9"}, 422),
        ({"extension": "100", "slot": "100_"}, 422),
        ({"extension": "555"}, 404),
        ({"extension": "100_2"}, 422),
    ],
)
async def test_bad_login_is_refused(api, body, status):
    await create(api, shared={"enabled": True, "max_devices": 2})
    await create(api, "101")
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    assert (await api.post("/api/v1/queues/support/agents", json=body)).status_code == status
    assert (await api.get("/api/v1/queues/support/agents")).json() == []


async def test_logins_are_applied_live_and_rendered_as_static_members(linked, fake_ami):
    fake_ami.state.queues["support"] = {}
    await create(linked)
    await linked.post("/api/v1/queues", json={"name": "support", "number": "600"})
    await linked.post("/api/v1/queues/support/agents", json={"extension": "100"})
    assert list(fake_ami.state.queues["support"]) == ["Local/100@shareline-agents/n"]
    member: Member = fake_ami.state.queues["support"]["Local/100@shareline-agents/n"]
    assert member.state_interface == "hint:100@shareline"
    fake_ami.state.endpoints = {"100"}
    committed = (await linked.post("/api/v1/telephony/commits")).json()
    rev = committed["revision"]["revision"]
    queues = (await linked.get(f"/api/v1/telephony/commits/{rev}/files/queues_shareline.conf")).text
    assert "member => Local/100@shareline-agents/n,0,100,hint:100@shareline" in queues
    await linked.delete("/api/v1/queues/support/agents/100")
    assert fake_ami.state.queues["support"] == {}


async def test_deleting_an_extension_logs_it_out_of_queues(api):
    await create(api)
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    await api.post("/api/v1/queues/support/agents", json={"extension": "100"})
    assert (await api.delete("/api/v1/extensions/100")).status_code == 204
    assert (await api.get("/api/v1/queues/support")).json()["agents"] == []


async def test_concurrent_logins_of_one_agent_make_one_login(api):
    import asyncio

    await create(api)
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    answers = await asyncio.gather(
        *(api.post("/api/v1/queues/support/agents", json={"extension": "100"}) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len((await api.get("/api/v1/queues/support/agents")).json()) == 1
