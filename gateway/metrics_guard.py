"""`GET /metrics` on the gateway answers only callers that reach it directly.

The gateway is the public entry point, and its metrics name every route with its
request counts and latencies. Prometheus scrapes each process directly; public traffic
comes through an ingress or reverse proxy, which adds `X-Forwarded-For` / `Forwarded`,
or from an address listed in `trusted_proxies`. Such a request gets the same 404 problem
as any unknown path.
"""

from __future__ import annotations

from collections.abc import Container

from fastapi import FastAPI, Request
from starlette.responses import Response

from services.common.errors import NotFound
from services.common.metrics import metrics_endpoint

PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def was_proxied(request: Request, trusted_proxies: Container[str]) -> bool:
    """Whether a proxy relayed this request (so it may come from the internet)."""
    peer = request.client.host if request.client else None
    return peer in trusted_proxies or any(h in request.headers for h in PROXY_HEADERS)


def serve_metrics_to_direct_callers_only(app: FastAPI, trusted_proxies: Container[str]) -> None:
    """Replace the common `/metrics` route by one that refuses proxied requests."""

    async def metrics(request: Request) -> Response:
        if was_proxied(request, trusted_proxies):
            raise NotFound(f"no route for {request.url.path}")
        return await metrics_endpoint(request)

    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/metrics"]
    app.add_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
