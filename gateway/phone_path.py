"""The phone path, `/provision/*`, forwarded to APS without FastAPI's routing.

A boot storm is tens of thousands of these. They need no administrator token, no role,
no dependency injection: this raw ASGI layer sits just inside the common middleware
(request id and access log, Prometheus metrics, the body guard, CORS) and in front of
FastAPI's router, for that prefix only. It keeps what the routed path did: the
dot-segment and empty-segment refusal, the body limit, inbound X-Service-Token and
X-Forwarded-* stripped, X-Forwarded-For from the trusted proxies, the cached anonymous
service token, the raw decoded path forwarded as such, hop-by-hop headers dropped both
ways, 503 naming `aps` when it is down and 504 on a timeout.

GET and HEAD go through the gateway's own keep-alive client (gateway/upstream_pool.py);
anything it does not handle, and every other method (a softphone redemption is a POST),
goes through httpx as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container
from importlib.metadata import version
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.deps import _refuse_dot_segments
from gateway.proxy import (
    HOP_BY_HOP,
    STRIPPED_INBOUND,
    GatewayTimeout,
    Upstream,
    public_location,
    response_from,
    send_upstream,
)
from gateway.routes_table import PHONE_PREFIX
from gateway.upstream_pool import Unhandled, UpstreamTimeout, UpstreamUnreachable
from services.common.errors import (
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    problem_response,
)
from services.common.logs import loggable_path
from services.common.service_tokens import HEADER as SERVICE_TOKEN_HEADER

log = logging.getLogger("shareline.gateway.proxy")
unhandled_log = logging.getLogger("shareline.errors")

SERVICE = "aps"
TRUSTED_CACHE_SIZE = 65_536
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A path made only of these needs no escaping and reads the same through urlsplit.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$")
_DROPPED_INBOUND = frozenset(
    n.encode("latin-1") for n in (*HOP_BY_HOP, *STRIPPED_INBOUND, "accept-encoding")
)
_DROPPED_OUTBOUND = frozenset(
    n.encode("latin-1") for n in (*HOP_BY_HOP, "x-request-id", "content-encoding")
)
# What httpx would have added when the phone sends none.
_DEFAULT_USER_AGENT = f"python-httpx/{version('httpx')}".encode("latin-1")


class PhonePath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: Container[str],
        max_body_bytes: int,
        route: Any = None,
    ) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies
        self.max_body_bytes = max_body_bytes
        self.route = route  # the routed path's template, for the request metrics
        # Parsing an address for the networks test was 7% of the gateway's CPU in a storm.
        self._trusted: dict[str, bool] = {}

    def _is_trusted(self, address: str) -> bool:
        known = self._trusted.get(address)
        if known is None:
            known = address in self.trusted_proxies
            if len(self._trusted) >= TRUSTED_CACHE_SIZE:
                self._trusted.clear()
            self._trusted[address] = known
        return known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(PHONE_PREFIX)
            or scope["method"] not in METHODS
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        if self.route is not None:
            scope["route"] = self.route
        plain = not scope["query_string"] and _PLAIN_PATH.match(scope["path"]) is not None
        public_path = scope["path"] if plain else Request(scope).url.path
        try:
            response = await self._forward(scope, receive, plain, public_path)
        except ProblemError as exc:
            response = problem_response(exc.to_problem(public_path), exc.headers or None)
        except Exception:
            unhandled_log.exception(
                "unhandled error on %s %s", scope["method"], loggable_path(public_path)
            )
            response = problem_response(ProblemError("an unexpected error occurred").to_problem())
        await response(scope, receive, send)

    async def _forward(
        self, scope: Scope, receive: Receive, plain: bool, public_path: str
    ) -> Response:
        _refuse_dot_segments(public_path)
        body = await self._read_body(scope, receive)
        upstream: Upstream = scope["app"].state.upstreams[SERVICE]
        method = scope["method"]
        url: httpx.URL | None = None
        if not plain:
            url = _upstream_url(scope)
        pool = upstream.pool
        if pool is not None and method in ("GET", "HEAD") and not body:
            target = scope["path"].encode("ascii") if url is None else url.raw_path
            try:
                status, headers, content = await pool.request(
                    method, target, self._lean_headers(scope, upstream)
                )
            except Unhandled:
                pass  # through httpx below
            except UpstreamTimeout as exc:
                raise GatewayTimeout(
                    f"the {upstream.name} service did not answer in time", service=upstream.name
                ) from exc
            except UpstreamUnreachable as exc:
                log.warning("upstream %s unreachable: %s", upstream.name, exc)
                raise ServiceUnavailable(
                    f"the {upstream.name} service is unavailable", service=upstream.name
                ) from exc
            else:
                return _response(status, headers, content, pool.host_header, target)
        if url is None:
            url = _upstream_url(scope)
        answer = await send_upstream(
            upstream, method, url, self._httpx_headers(scope, upstream), body
        )
        return response_from(answer)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _client_ip(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if self._is_trusted(peer):
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
                    for hop in reversed(hops):
                        if not self._is_trusted(hop):
                            return hop
                    break
        return peer

    def _added(self, scope: Scope, upstream: Upstream) -> list[tuple[str, str]]:
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        return [
            (SERVICE_TOKEN_HEADER, upstream.minter.token()),
            ("x-forwarded-for", self._client_ip(scope)),
            ("x-forwarded-proto", scope.get("scheme", "http")),
            ("x-forwarded-host", host),
            ("x-request-id", scope["state"]["request_id"]),
        ]

    def _lean_headers(self, scope: Scope, upstream: Upstream) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        user_agent = accept = False
        for name, value in scope["headers"]:
            name = name.lower()
            if name in _DROPPED_INBOUND:
                continue
            if b"\r" in value or b"\n" in value:
                continue  # never let a header value split the upstream request
            user_agent = user_agent or name == b"user-agent"
            accept = accept or name == b"accept"
            headers.append((name, value))
        if not accept:
            headers.append((b"accept", b"*/*"))
        if not user_agent:
            headers.append((b"user-agent", _DEFAULT_USER_AGENT))
        headers += [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in self._added(scope, upstream)
        ]
        return headers

    def _httpx_headers(self, scope: Scope, upstream: Upstream) -> list[tuple[str, str]]:
        dropped = HOP_BY_HOP | STRIPPED_INBOUND
        headers = [(k, v) for k, v in Request(scope).headers.items() if k not in dropped]
        return headers + self._added(scope, upstream)


def _upstream_url(scope: Scope) -> httpx.URL:
    try:
        # The path as the server decoded it: `request.url` goes through urlsplit, which
        # silently drops tabs and newlines, so `/x/%09` would be forwarded as `/x/`.
        return httpx.URL(path=scope["path"], query=Request(scope).url.query.encode("latin-1"))
    except httpx.InvalidURL as exc:
        # A decoded path with control characters names nothing any service serves.
        raise NotFound("no such resource") from exc


def _response(
    status: int, headers: list[tuple[bytes, bytes]], content: bytes, host: bytes, target: bytes
) -> Response:
    kept: dict[str, str] = {}
    for name, value in headers:
        if name in _DROPPED_OUTBOUND:
            continue
        key, text = name.decode("latin-1"), value.decode("latin-1")
        kept[key] = f"{kept[key]}, {text}" if key in kept else text
    if "location" in kept:
        upstream_url = httpx.URL(f"http://{host.decode('latin-1')}{target.decode('ascii')}")
        kept["location"] = public_location(kept["location"], upstream_url)
    return Response(content=content, status_code=status, headers=kept)
