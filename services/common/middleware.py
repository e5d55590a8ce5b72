"""ASGI middleware every app gets: request ids and an access log line."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.logs import loggable_path, request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("shareline.access")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return None


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID or makes one, logs the request, echoes the id."""

    def __init__(self, app: ASGIApp, quiet_paths: tuple[str, ...] = ("/healthz", "/readyz")):
        self.app = app
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in self.quiet_paths:
                path = loggable_path(scope["path"])
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status["code"],
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status["code"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteConcurrencyLimit:
    """Lets at most `limit` requests that may write run at once in this process.

    A write's unit of work takes the database write lock in one worker thread and
    finishes in another; if every worker thread were busy waiting for that lock, the
    holder could not get a thread to finish and all would wait out the busy timeout.
    Keeping writers below the thread pool's size rules that out. Correctness across
    processes still rests on the database, not on this limit.
    """

    def __init__(self, app: ASGIApp, limit: int = 8) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READ_METHODS:
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)
