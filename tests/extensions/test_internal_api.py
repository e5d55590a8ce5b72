"""The internal API APS uses, through the published `ExtensionsClient`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.common.errors import ProblemError
from services.common.service_tokens import TokenMinter
from services.extensions.client import ExtensionsClient
from tests.extensions.conftest import SECRET, STRONG, extension_body
from tests.support.ami_server import FakeAmi


class LoopBridge(httpx.BaseTransport):
    """A sync transport into an ASGI app served by the test's event loop."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def forward() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self.inner.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(forward(), self.loop).result(timeout=30)


class Aps:
    """The published client, called from a worker thread as APS's sync code would."""

    def __init__(self, app: Any) -> None:
        http = httpx.Client(
            transport=LoopBridge(app, asyncio.get_running_loop()), base_url="http://extensions.test"
        )
        self.client = ExtensionsClient(
            "http://extensions.test",
            TokenMinter(SECRET, issuer="aps", audience="extensions"),
            http=http,
        )

    async def __call__(self, method: str, *args: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, method), *args)


@pytest.fixture
async def pair(api):
    return api, Aps(api.app)


@pytest.fixture
def ami():
    with FakeAmi(endpoints={"100", "100_2"}) as fake:
        yield fake


@pytest.fixture
async def linked(make_api, ami):
    config = ami.config()
    http = await make_api(
        ami_host=config.host,
        ami_port=config.port,
        ami_username=config.username,
        ami_secret=config.secret,
    )
    return http, Aps(http.app)


async def setup_100(http) -> None:
    body = extension_body(shared={"enabled": True, "max_devices": 2})
    assert (await http.post("/api/v1/extensions", json=body)).status_code == 201
    await http.patch(
        "/api/v1/extensions/100/slots/100_2", json={"ring_mode": "distinctive", "tone": 2}
    )


async def test_committed_is_empty_before_the_first_commit(pair):
    _http, aps = pair
    committed = await aps("committed")
    assert committed.revision is None and committed.extensions == ()
    assert (committed.sip.host, committed.sip.port, committed.sip.transport) == (
        "127.0.0.1",
        5060,
        "udp",
    )


async def test_committed_is_the_last_commit_never_pending_edits(pair):
    http, aps = pair
    await setup_100(http)
    await http.post("/api/v1/telephony/commits")
    await http.patch(
        "/api/v1/extensions/100", json={"name": "Renamed", "password": "Zyxwvutsrq9876543210abc"}
    )
    committed = await aps("committed")
    assert committed.revision == 1 and committed.content_hash
    (ext,) = committed.extensions
    assert (ext.number, ext.name, ext.full_name, ext.email, ext.password) == (
        "100",
        "Alice",
        "Alice Smith",
        "alice@example.com",
        STRONG,
    )
    assert [(s.auth_name, s.index, s.ring_mode, s.tone) for s in ext.slots] == [
        ("100", 1, "ring", None),
        ("100_2", 2, "distinctive", 2),
    ]
    assert committed.slot("100_2")[0].number == "100"


async def test_contacts_and_notify_without_asterisk(pair):
    http, aps = pair
    await setup_100(http)
    await http.post("/api/v1/telephony/commits")
    contacts = await aps("contacts", ["100", "100_2"])
    assert {k: v.status for k, v in contacts.items()} == {"100": "unknown", "100_2": "unknown"}
    assert await aps("notify", ["100_2", "555"], "check-sync") == {
        "100_2": "skipped",
        "555": "unknown-endpoint",
    }


async def test_notify_reaches_only_registered_endpoints(linked, ami):
    http, aps = linked
    await setup_100(http)
    await http.post("/api/v1/telephony/commits")
    ami.state.contacts["100_2"] = ("sip:100_2@192.0.2.7", "Yealink SIP-T54W", "Avail")
    contacts = await aps("contacts", ["100", "100_2"])
    assert contacts["100_2"].status == "registered"
    assert contacts["100_2"].user_agent == "Yealink SIP-T54W"
    assert contacts["100"].status == "unregistered"
    assert await aps("notify", ["100", "100_2", "100_3"], "check-sync") == {
        "100": "not-registered",
        "100_2": "sent",
        "100_3": "unknown-endpoint",
    }
    notified = [a for a in ami.state.actions if a.get("Action") == "PJSIPNotify"]
    assert [(a["Endpoint"], a["Variable"]) for a in notified] == [("100_2", "Event=check-sync")]


async def test_bad_notify_is_a_problem(pair):
    _http, aps = pair
    with pytest.raises(ProblemError) as caught:
        await aps("notify", ["100"], "check-sync\r\nAction: Originate")
    assert caught.value.to_problem()["status"] == 422


async def test_internal_routes_need_a_service_token(pair):
    http, _aps = pair
    response = await http.get("/internal/v1/telephony/committed", headers={"X-Service-Token": "x"})
    assert response.status_code == 401
