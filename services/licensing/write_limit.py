"""The common write limit, minus the routes whose writes are batched.

`WriteConcurrencyLimit` keeps requests that may write below the worker-thread pool,
because a write holding the database lock must always find a thread to finish in. A
batched route (allocations/batching.py) waits on the event loop, not in a worker thread,
and its writes run on the batcher's own thread, so it cannot starve the pool; limiting
it would only cap a batch at the limit (8) and throughput with it.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.middleware import WriteConcurrencyLimit

BATCHED_ROUTES = frozenset(
    {("POST", "/internal/v1/reservations"), ("POST", "/internal/v1/releases")}
)


class WriteLimitExceptBatched(WriteConcurrencyLimit):
    def __init__(self, app: ASGIApp, limit: int = 8) -> None:
        super().__init__(app, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in BATCHED_ROUTES:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def exempt_batched_routes(app: FastAPI, limit: int) -> None:
    """Swap the app's write limit for one that lets batched routes through (before start)."""
    app.user_middleware[:] = [
        Middleware(WriteLimitExceptBatched, limit=limit)
        if entry.cls is WriteConcurrencyLimit
        else entry
        for entry in app.user_middleware
    ]
