"""Prometheus metrics: one registry per app, request metrics by route template.

Every app built by `build_app` gets its own `CollectorRegistry` (tests build the same
app several times in one process; a process-wide registry would refuse the second
copy), a middleware that counts requests and times them, and `GET /metrics`.

Requests are labelled by the route's *template* (`/api/v1/extensions/{number}`), never
the raw path, so a scanner walking MACs cannot grow the label set; a request no route
matched is labelled `<unmatched>`.

Domain code records its own events through `metrics_for(app)`:

    metrics_for(request.app).allocations.labels(pool="users", outcome="granted").inc()
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"

# The phone path answers in about a millisecond; commits take seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WORK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class Metrics:
    """The metrics of one app. Every service has every metric; each uses its own."""

    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    allocations: Counter
    provision_fetches: Counter
    commit_seconds: Histogram
    render_seconds: Histogram

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            requests=Counter(
                "shareline_http_requests",
                "HTTP requests answered, by method, route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            request_seconds=Histogram(
                "shareline_http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route template.",
                ["method", "route"],
                buckets=REQUEST_BUCKETS,
                registry=registry,
            ),
            allocations=Counter(
                "shareline_allocations",
                "License allocation requests by pool and outcome "
                "(granted, exhausted, released, ...).",
                ["pool", "outcome"],
                registry=registry,
            ),
            provision_fetches=Counter(
                "shareline_provision_fetches",
                "Phone provisioning fetches by vendor and outcome "
                "(served, not-modified, unauthorized, not-found, banned, ...).",
                ["vendor", "outcome"],
                registry=registry,
            ),
            commit_seconds=Histogram(
                "shareline_commit_duration_seconds",
                "Time to perform a commit, by kind (telephony, aps).",
                ["kind"],
                buckets=WORK_BUCKETS,
                registry=registry,
            ),
            render_seconds=Histogram(
                "shareline_render_duration_seconds",
                "Time to render configuration files (Asterisk or phone files).",
                buckets=WORK_BUCKETS,
                registry=registry,
            ),
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_for(app: Any) -> Metrics:
    """The metrics of a ShareLine app (a FastAPI/Starlette app built by `build_app`)."""
    metrics: Metrics = app.state.metrics
    return metrics


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status.

    The labelled children are cached per (method, route, status): looking them up
    through `labels()` on every request takes a lock and builds a tuple, and the phone
    path is hot.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], route_template(scope)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.metrics.requests.labels(method=method, route=route, status=str(status))
            self._counters[(method, route, status)] = counter
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self.metrics.request_seconds.labels(method=method, route=route)
            self._timers[(method, route)] = timer
        counter.inc()
        timer.observe(seconds)


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`: Prometheus text format. Open like /healthz; never route it publicly."""
    return Response(metrics_for(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Any) -> Metrics:
    """Give `app` its own registry, the request middleware and `GET /metrics`."""
    metrics = Metrics.create()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return metrics
