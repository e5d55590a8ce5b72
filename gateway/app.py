"""The gateway: the one public entry point of ShareLine."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.responses import Response

from gateway import openapi_merge
from gateway.auth.deps import CurrentPrincipal
from gateway.auth.passwords import use_hasher
from gateway.auth.router import auth_router
from gateway.auth.tokens import AdminTokens
from gateway.body_guard import BodyGuard
from gateway.metrics_guard import serve_metrics_to_direct_callers_only
from gateway.phone_path import PhonePath
from gateway.proxy import Upstream, client_address, forward, read_body
from gateway.routes_table import route_for
from gateway.settings import Settings
from gateway.trusted_proxies import TrustedProxies
from gateway.upstream_pool import UpstreamPool
from gateway.users.bootstrap import ensure_first_admin
from gateway.users.router import users_router
from services.common.app_factory import build_app
from services.common.errors import NotFound
from services.common.health import database_check
from services.common.http import make_async_client
from services.common.service_app import minter_for, open_database
from services.common.service_tokens import HEADER as SERVICE_TOKEN_HEADER

NAME = "gateway"
SERVICES = ("extensions", "licensing", "aps")
# Small connection pools per upstream, taken in turn (see Upstream): 8 keep a 64-phone
# boot storm at about 8 pooled connections each.
UPSTREAM_POOLS = 8
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
OPENAPI_CACHE_SECONDS = 30.0
PHONE_ROUTE = "/provision/{rest:path}"


def _upstream_url(settings: Settings, service: str) -> str:
    return str(getattr(settings, f"{service}_url"))


def _upstream_timeout(settings: Settings, service: str) -> float:
    return float(getattr(settings, f"{service}_timeout_seconds"))


async def _service_readiness(app: FastAPI) -> dict[str, Any]:
    async def probe(name: str, upstream: Upstream) -> tuple[str, dict[str, Any]]:
        try:
            response = await upstream.client.get("/readyz", timeout=3.0)
        except Exception as exc:
            return name, {"ok": False, "detail": f"unreachable ({type(exc).__name__})"}
        return name, {"ok": response.status_code == 200, "status": response.status_code}

    pairs = await asyncio.gather(*(probe(n, u) for n, u in app.state.upstreams.items()))
    return dict(pairs)


async def _merged_openapi(app: FastAPI) -> dict[str, Any]:
    cached = app.state.openapi_cache
    if cached and cached[1] > time.monotonic():
        return cached[0]

    async def fetch(name: str, upstream: Upstream) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await upstream.client.get(
                "/openapi.json", headers={SERVICE_TOKEN_HEADER: upstream.minter.token()}
            )
            response.raise_for_status()
            return name, response.json()
        except Exception:
            return name, None

    docs = dict(await asyncio.gather(*(fetch(n, u) for n, u in app.state.upstreams.items())))
    available = {name: doc for name, doc in docs.items() if doc is not None}
    merged = openapi_merge.merge(app.openapi(), available)
    merged["info"]["title"] = "ShareLine API"
    missing = sorted(set(docs) - set(available))
    if missing:
        merged["info"]["x-unavailable-services"] = missing
    else:
        app.state.openapi_cache = (merged, time.monotonic() + OPENAPI_CACHE_SECONDS)
    return merged


def _admin_tokens(settings: Settings) -> AdminTokens:
    return AdminTokens(
        secret=settings.admin_token_secret.get_secret_value(),
        issuer=settings.admin_token_issuer,
        audience=settings.admin_token_audience,
        ttl_seconds=settings.admin_token_ttl_seconds,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        use_hasher(
            settings.password_hash_time_cost,
            settings.password_hash_memory_kib,
            settings.password_hash_parallelism,
        )
        engine = open_database(app, settings.database_url, "gw")
        try:
            ensure_first_admin(engine, settings)
        except Exception:
            engine.dispose()
            raise
        app.state.admin_tokens = _admin_tokens(settings)
        app.state.upstreams = {
            name: Upstream(
                name,
                make_async_client(_upstream_url(settings, name), _upstream_timeout(settings, name)),
                minter_for(settings, NAME, name),
                more_clients=[
                    make_async_client(
                        _upstream_url(settings, name), _upstream_timeout(settings, name)
                    )
                    for _ in range(UPSTREAM_POOLS - 1)
                ],
            )
            for name in SERVICES
        }
        # The phone path's own keep-alive connections to APS (gateway/phone_path.py).
        aps_timeout = _upstream_timeout(settings, "aps")
        app.state.upstreams["aps"].pool = UpstreamPool.for_url(
            _upstream_url(settings, "aps"),
            timeout=aps_timeout,
            connect_timeout=min(aps_timeout, 3.0),
        )
        app.state.openapi_cache = None
        try:
            yield
        finally:
            for upstream in app.state.upstreams.values():
                await upstream.aclose()
            engine.dispose()

    async def services_ready(request: Request) -> dict[str, Any]:
        results = await _service_readiness(request.app)
        return {"ok": all(r["ok"] for r in results.values()), "services": results}

    app = build_app(
        name=NAME,
        title="ShareLine API",
        description=(
            "The public API of ShareLine: shared SIP extensions, licensing and "
            "auto-provisioning, behind one gateway."
        ),
        settings=settings,
        lifespan=lifespan,
        readiness={"database": database_check, "services": services_ready},
        # The gateway mostly waits on upstreams; each service limits its own writers.
        limit_writes=False,
    )
    # httpx logs every upstream URL at INFO, query string included; the access log
    # already records each request, without the query (where tokens get pasted).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Innermost, so a refused body still gets a request id, a log line and CORS headers.
    app.user_middleware.append(
        Middleware(
            BodyGuard, max_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth
        )
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=PROXY_METHODS,
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
            expose_headers=["X-Request-ID", "ETag"],
        )

    # The merged document replaces FastAPI's own; /docs keeps pointing at this path.
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url
    ]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(await _merged_openapi(request.app))

    app.include_router(auth_router(settings))
    app.include_router(users_router())
    trusted_proxies = TrustedProxies(settings.trusted_proxies)
    serve_metrics_to_direct_callers_only(app, trusted_proxies)

    async def proxy(request: Request, _: CurrentPrincipal) -> Response:
        route = route_for(request.url.path)
        if route is None:
            raise NotFound(f"no route for {request.url.path}")
        body = await read_body(request, settings.max_body_bytes)
        upstream = request.app.state.upstreams[route.service]
        return await forward(
            request,
            upstream,
            route,
            body=body,
            client_ip=client_address(request, trusted_proxies),
            user=getattr(request.state, "user", None),
            role=getattr(request.state, "role", None),
        )

    for prefix in ("/api/v1/{rest:path}", "/provision/{rest:path}"):
        app.add_api_route(prefix, proxy, methods=PROXY_METHODS, include_in_schema=False)
    # The phone path skips FastAPI's routing: innermost middleware, after the body guard.
    phone_route = next(r for r in app.router.routes if getattr(r, "path", "") == PHONE_ROUTE)
    app.user_middleware.append(
        Middleware(
            PhonePath,
            trusted_proxies=trusted_proxies,
            max_body_bytes=settings.max_body_bytes,
            route=phone_route,
        )
    )
    return app
