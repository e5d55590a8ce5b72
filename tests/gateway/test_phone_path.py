"""The phone path's own keep-alive client and the raw ASGI layer that uses it.

A tiny asyncio HTTP server stands in for APS, so each test decides how it answers:
Content-Length bodies on kept-alive connections, chunked replies, connections closed
between requests, or no answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstream_pool import Unhandled, UpstreamPool, UpstreamUnreachable
from tests.gateway.conftest import UNREACHABLE


@dataclass
class FakeAps:
    mode: str = "length"  # length | chunked | close-silently | hang
    body: bytes = b"#!version:1.0.0.1\r\n\r\naccount.1.enable = 1\n"
    heads: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                    return
                self.heads.append(head)
                if self.mode == "hang":
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.sleep(30)
                    return
                is_head = head.startswith(b"HEAD ")
                if self.mode == "chunked":
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
                        b"content-type: text/plain\r\n\r\n"
                        + f"{len(self.body):x}\r\n".encode()
                        + self.body
                        + b"\r\n0\r\n\r\n"
                    )
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                        b'etag: "abc"\r\nx-request-id: upstream-id\r\n'
                        + f"content-length: {len(self.body)}\r\n\r\n".encode()
                        + (b"" if is_head else self.body)
                    )
                await writer.drain()
                if self.mode == "close-silently":
                    return  # as an idle keep-alive timeout would, without saying so
        finally:
            writer.close()

    def sent(self, index: int = -1) -> dict[str, str]:
        lines = self.heads[index].decode("latin-1").split("\r\n")[1:]
        return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}


@pytest.fixture
async def fake_aps() -> AsyncIterator[FakeAps]:
    aps = FakeAps()
    server = await asyncio.start_server(aps.handle, "127.0.0.1", 0)
    aps.port = server.sockets[0].getsockname()[1]
    async with server:
        yield aps
        server.close()


def pool_for(aps: FakeAps, timeout: float = 5.0) -> UpstreamPool:
    pool = UpstreamPool.for_url(f"http://127.0.0.1:{aps.port}", timeout=timeout, connect_timeout=1)
    assert pool is not None
    return pool


async def test_connections_are_kept_alive_and_reused(fake_aps: FakeAps) -> None:
    pool = pool_for(fake_aps)
    for _ in range(3):
        status, headers, body = await pool.request("GET", b"/provision/a.cfg", [])
        assert (status, body) == (200, fake_aps.body)
        assert (b"etag", b'"abc"') in headers
    assert pool.opened == 1 and fake_aps.connections == 1
    await pool.aclose()


async def test_head_reads_no_body_and_keeps_the_connection(fake_aps: FakeAps) -> None:
    pool = pool_for(fake_aps)
    status, _, body = await pool.request("HEAD", b"/provision/a.cfg", [])
    assert (status, body) == (200, b"")
    status, _, body = await pool.request("GET", b"/provision/a.cfg", [])
    assert (status, body) == (200, fake_aps.body)
    assert pool.opened == 1
    await pool.aclose()


async def test_a_chunked_reply_is_left_to_httpx(fake_aps: FakeAps) -> None:
    fake_aps.mode = "chunked"
    pool = pool_for(fake_aps)
    with pytest.raises(Unhandled):
        await pool.request("GET", b"/provision/a.cfg", [])
    await pool.aclose()


async def test_a_connection_the_server_closed_is_retried_on_a_fresh_one(
    fake_aps: FakeAps,
) -> None:
    fake_aps.mode = "close-silently"
    pool = pool_for(fake_aps)
    for _ in range(3):
        status, _, body = await pool.request("GET", b"/provision/a.cfg", [])
        assert (status, body) == (200, fake_aps.body)
        await asyncio.sleep(0.05)  # let the close arrive, or not: both must work
    assert pool.opened == 3
    await pool.aclose()


async def test_nothing_listening_is_unreachable() -> None:
    pool = UpstreamPool.for_url(UNREACHABLE, timeout=2, connect_timeout=1)
    assert pool is not None
    with pytest.raises(UpstreamUnreachable):
        await pool.request("GET", b"/provision/a.cfg", [])


def test_only_plain_http_base_urls_get_a_pool() -> None:
    assert UpstreamPool.for_url("https://aps:8443", timeout=1, connect_timeout=1) is None
    assert UpstreamPool.for_url("http://aps:8003/prefix", timeout=1, connect_timeout=1) is None
    assert UpstreamPool.for_url("http://aps:8003/", timeout=1, connect_timeout=1) is not None


@pytest.fixture
async def gateway_on(
    lifespan_client: Any, make_settings: Callable[..., Settings], fake_aps: FakeAps
) -> Callable[..., Any]:
    async def make(**overrides: Any) -> tuple[httpx.AsyncClient, Any]:
        values = {"aps_url": f"http://127.0.0.1:{fake_aps.port}", **overrides}
        app = create_app(make_settings(**values))
        client = await lifespan_client(app)
        return client, app

    return make


async def test_the_gateway_forwards_phone_fetches_over_kept_alive_connections(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    client, app = await gateway_on(trusted_proxies=["127.0.0.1"])
    for _ in range(3):
        response = await client.get(
            "/provision/001565aabbcc.cfg",
            headers={
                "Authorization": "Basic cGhvbmU6c2VjcmV0",
                "User-Agent": "Yealink SIP-T46U 108.86.0.20 00:15:65:aa:bb:cc",
                "If-None-Match": '"old"',
                "X-Service-Token": "forged",
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Host": "evil.example",
                "X-Request-ID": "phone-req-1",
                "Connection": "keep-alive",
            },
        )
        assert response.status_code == 200
        assert response.content == fake_aps.body
        assert response.headers["etag"] == '"abc"'
        assert response.headers["x-request-id"] == "phone-req-1"
        assert response.headers["content-length"] == str(len(fake_aps.body))
    assert app.state.upstreams["aps"].pool.opened == 1
    sent = fake_aps.sent()
    assert fake_aps.heads[-1].startswith(b"GET /provision/001565aabbcc.cfg HTTP/1.1\r\n")
    assert sent["authorization"] == "Basic cGhvbmU6c2VjcmV0"
    assert sent["user-agent"].startswith("Yealink")
    assert sent["if-none-match"] == '"old"'
    assert sent["x-service-token"] != "forged"
    assert sent["x-forwarded-for"] == "203.0.113.9"  # named by a trusted proxy
    assert sent["x-forwarded-host"] == "testserver"
    assert sent["x-request-id"] == "phone-req-1"
    assert sent["host"] == f"127.0.0.1:{fake_aps.port}"
    metrics = app.state.metrics.exposition().decode()
    assert 'route="/provision/{rest}",status="200"' in metrics


async def test_an_untrusted_peer_cannot_name_the_client(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    client, _ = await gateway_on()
    await client.get("/provision/a.cfg", headers={"X-Forwarded-For": "203.0.113.9"})
    assert fake_aps.sent()["x-forwarded-for"] == "127.0.0.1"


async def test_a_chunked_reply_falls_back_to_httpx(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    fake_aps.mode = "chunked"
    client, _ = await gateway_on()
    response = await client.get("/provision/a.cfg")
    assert response.status_code == 200
    assert response.content == fake_aps.body
    assert len(fake_aps.heads) == 2  # the lean try, then httpx


async def test_dot_segments_and_empty_segments_are_refused(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    client, _ = await gateway_on()
    # httpx resolves a literal `..` itself; an escaped one reaches the gateway as such.
    for path in ("/provision/%2e%2e/api/v1/license", "/provision//a.cfg", "/provision/a/%2E/b"):
        response = await client.get(path)
        assert response.status_code == 404, path
    assert fake_aps.heads == []


async def test_a_decoded_control_character_is_not_dropped(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    client, _ = await gateway_on()
    response = await client.get("/provision/a%09.cfg")
    assert response.status_code == 404
    assert fake_aps.heads == []


async def test_upstream_down_is_a_503_naming_aps(gateway_on: Callable[..., Any]) -> None:
    client, _ = await gateway_on(aps_url=UNREACHABLE)
    response = await client.get("/provision/a.cfg", headers={"X-Request-ID": "down-1"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "aps"
    assert response.headers["x-request-id"] == "down-1"


async def test_no_answer_in_time_is_a_504(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    fake_aps.mode = "hang"
    client, _ = await gateway_on(aps_timeout_seconds=0.3)
    response = await client.get("/provision/a.cfg")
    assert response.status_code == 504
    assert response.json()["service"] == "aps"


async def test_an_oversized_body_is_refused_before_aps(
    gateway_on: Callable[..., Any], fake_aps: FakeAps
) -> None:
    client, _ = await gateway_on(max_body_bytes=100)
    response = await client.post("/provision/softphone/abc", content=b"x" * 200)
    assert response.status_code == 413
    assert fake_aps.heads == []
