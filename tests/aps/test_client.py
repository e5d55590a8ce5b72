"""The published ApsClient against the real APS app (ASGI, no network)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.aps.client import ApsClient, ApsProblem
from services.common.errors import ServiceUnavailable
from services.common.service_app import minter_for


def _sync_over_asgi(aps) -> httpx.Client:
    """A sync httpx client whose requests the async test client carries to the app."""
    loop = asyncio.get_running_loop()

    def handler(request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(
            aps.client.request(
                request.method, request.url.path, headers=request.headers, content=request.content
            ),
            loop,
        )
        answer = future.result(timeout=10)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://aps.test")


async def test_client_reads_vendors_and_devices(aps) -> None:
    await aps.create("00:15:65:00:00:01", "yealink", "T46U", [(1, "101"), (2, "100_2")])
    await aps.commit()
    client = ApsClient(
        "http://aps.test", minter_for(aps.settings, "gateway", "aps"), http=_sync_over_asgi(aps)
    )
    vendors = await asyncio.to_thread(client.vendors)
    assert {v.name for v in vendors} >= {
        "yealink",
        "poly",
        "grandstream",
        "snom",
        "cisco",
        "fanvil",
    }
    device = await asyncio.to_thread(client.device, "00:15:65:00:00:01")
    assert device is not None
    assert device.lines == {1: "101", 2: "100_2"}
    assert device.rendered_revision == 1 and device.current is False
    assert await asyncio.to_thread(client.device, "00:15:65:00:00:09") is None


def test_client_errors_become_problems() -> None:
    from services.aps.settings import Settings

    minter = minter_for(Settings(), "gateway", "aps")

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "type": "urn:shareline:problem:unauthorized",
                "title": "Unauthorized",
                "status": 401,
            },
        )

    client = ApsClient(
        "http://aps.test",
        minter,
        retries=0,
        http=httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://aps.test"),
    )
    with pytest.raises(ApsProblem) as problem:
        client.vendors()
    assert problem.value.to_problem()["status"] == 401

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    client = ApsClient(
        "http://aps.test",
        minter,
        retries=0,
        http=httpx.Client(transport=httpx.MockTransport(down), base_url="http://aps.test"),
    )
    with pytest.raises(ServiceUnavailable):
        client.vendors()
