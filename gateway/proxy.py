"""Forwarding public requests to the service that owns them.

The gateway holds one pooled HTTP client per upstream. It attaches a service token
naming the caller, passes the request id, sets the client's address (services trust
it only because the token says the gateway sent it), enforces the body limit, and
turns an unreachable upstream into a 503 problem naming the service.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Sequence

import httpx
from fastapi import Request
from starlette.responses import Response

from gateway.routes_table import Route
from gateway.upstream_pool import UpstreamPool
from services.common.errors import (
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
)
from services.common.service_tokens import HEADER as SERVICE_TOKEN_HEADER
from services.common.service_tokens import TokenMinter

log = logging.getLogger("shareline.gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Never trusted from outside: the gateway alone sets these.
STRIPPED_INBOUND = frozenset(
    {
        SERVICE_TOKEN_HEADER.lower(),
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "forwarded",
    }
)


class GatewayTimeout(ProblemError):
    status, slug, title = 504, "gateway-timeout", "Gateway timeout"


class Upstream:
    """One upstream service: its pooled HTTP clients, taken in turn, and its token minter.

    httpcore checks every connection of a pool for expiry on each request (a `select`
    per connection), so the cost of a request grows with the pool: in a boot storm 64
    pooled connections made that check a quarter of the gateway's CPU. Several small
    pools, used round-robin, keep it short. Setting `client` leaves that one client.
    """

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        minter: TokenMinter,
        *,
        more_clients: Sequence[httpx.AsyncClient] = (),
    ) -> None:
        self.name = name
        self.minter = minter
        self.clients = [client, *more_clients]
        self._turn = 0
        # The phone path's own keep-alive client (gateway/upstream_pool.py), if any.
        self.pool: UpstreamPool | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        return self.clients[0]

    @client.setter
    def client(self, client: httpx.AsyncClient) -> None:
        self.clients = [client]
        self.pool = None  # whoever swaps the client (tests) gets every request through it

    def next_client(self) -> httpx.AsyncClient:
        self._turn = (self._turn + 1) % len(self.clients)
        return self.clients[self._turn]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        if self.pool is not None:
            await self.pool.aclose()


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def client_address(request: Request, trusted_proxies: Container[str]) -> str:
    peer = request.client.host if request.client else "unknown"
    if peer in trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted_proxies:
                return hop
    return peer


async def forward(
    request: Request,
    upstream: Upstream,
    route: Route,
    *,
    body: bytes,
    client_ip: str,
    user: str | None,
    role: str | None,
) -> Response:
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k not in HOP_BY_HOP
        and k not in STRIPPED_INBOUND
        and not (k == "authorization" and not route.phone_facing)
    ]
    headers.append((SERVICE_TOKEN_HEADER, upstream.minter.token(user=user, role=role)))
    headers.append(("x-forwarded-for", client_ip))
    headers.append(("x-forwarded-proto", request.url.scheme))
    headers.append(("x-forwarded-host", request.headers.get("host", "")))
    headers.append(("x-request-id", request.state.request_id))
    try:
        # The path as the server decoded it: `request.url` goes through urlsplit, which
        # silently drops tabs and newlines, so `/x/%09` would be forwarded as `/x/`.
        url = httpx.URL(path=request.scope["path"], query=request.url.query.encode("latin-1"))
    except httpx.InvalidURL as exc:
        # A decoded path with control characters names nothing any service serves.
        raise NotFound("no such resource") from exc
    upstream_response = await send_upstream(upstream, request.method, url, headers, body)
    return response_from(upstream_response)


async def send_upstream(
    upstream: Upstream,
    method: str,
    url: httpx.URL,
    headers: list[tuple[str, str]],
    body: bytes,
) -> httpx.Response:
    """The upstream's answer through httpx; 504 on a timeout, 503 when unreachable."""
    try:
        return await upstream.next_client().request(method, url, headers=headers, content=body)
    except httpx.TimeoutException as exc:
        raise GatewayTimeout(
            f"the {upstream.name} service did not answer in time", service=upstream.name
        ) from exc
    except httpx.TransportError as exc:
        log.warning("upstream %s unreachable: %s", upstream.name, type(exc).__name__)
        raise ServiceUnavailable(
            f"the {upstream.name} service is unavailable", service=upstream.name
        ) from exc


def response_from(upstream_response: httpx.Response) -> Response:
    response_headers = {
        k: v
        for k, v in upstream_response.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() not in ("x-request-id", "content-encoding")
    }
    if "location" in response_headers:
        response_headers["location"] = public_location(
            response_headers["location"], upstream_response.request.url
        )
    return Response(
        content=upstream_response.content,
        status_code=upstream_response.status_code,
        headers=response_headers,
    )


def public_location(location: str, upstream_url: httpx.URL) -> str:
    """An upstream's redirect to itself, made relative so that it names the gateway.

    Otherwise `GET /api/v1/extensions/` would send the client to the service's internal
    address (FastAPI redirects to the path without the slash).
    """
    target = upstream_url.join(location)
    if (target.scheme, target.host, target.port) != (
        upstream_url.scheme,
        upstream_url.host,
        upstream_url.port,
    ):
        return location
    return target.raw_path.decode("ascii")
