"""`POST /internal/v1/reservations` without FastAPI's routing, for well-formed requests.

With reservations batched, FastAPI's per-request work (routing, dependency injection,
the exception layers) became most of licensing's CPU in a burst. This raw ASGI layer
sits just inside the common middleware (request id and access log, metrics, the write
limit) and takes a reservation only when everything about it is plainly right: a valid
service token, one Idempotency-Key of allowed length, a JSON body that validates as
`PoolHolders`. Anything else — a missing or bad token, a bad header, a body that does not
validate — goes on to the routed endpoint unchanged (the body replayed), so every
refusal is exactly the routed one. The reservation itself is the same call
(`take_reservation`) and its problems are rendered by the app's own exception handlers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.service_tokens import HEADER as SERVICE_TOKEN_HEADER
from services.common.service_tokens import Caller
from services.licensing.allocations.idempotency import MAX_KEY_LENGTH
from services.licensing.allocations.router import take_reservation
from services.licensing.allocations.schemas import PoolHolders

PATH = "/internal/v1/reservations"
_TOKEN = SERVICE_TOKEN_HEADER.lower().encode("latin-1")
_KEY = b"idempotency-key"
_CONTENT_TYPE = b"content-type"


class ReservationFastPath:
    """Takes well-formed reservations itself; passes everything else on."""

    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self.route = route  # the routed endpoint, so metrics label the request alike

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        raw, complete = await _read_body(receive)
        if not complete:
            return  # the client went away before sending its body: nobody to answer
        taken = _well_formed(scope, raw)
        if taken is None:
            await self.app(scope, _replay(raw, receive), send)
            return
        caller, body, key = taken
        scope["route"] = self.route
        scope.setdefault("state", {})["caller"] = caller
        try:
            status, answer = await take_reservation(scope["app"], caller, body, key)
        except Exception as exc:
            response = await _handled(scope, exc)
        else:
            response = JSONResponse(answer, status_code=status)
        await response(scope, receive, send)


def _well_formed(scope: Scope, raw: bytes) -> tuple[Caller, PoolHolders, str] | None:
    token, keys, content_type = None, [], None
    for name, value in scope["headers"]:
        if name == _TOKEN:
            token = value.decode("latin-1")
        elif name == _KEY:
            keys.append(value.decode("latin-1"))
        elif name == _CONTENT_TYPE:
            content_type = value.decode("latin-1")
    if len(keys) != 1 or not 1 <= len(keys[0]) <= MAX_KEY_LENGTH:
        return None
    if content_type is not None and content_type.split(";")[0].strip() != "application/json":
        return None
    try:
        caller = scope["app"].state.token_verifier(token)
        body = PoolHolders.model_validate(json.loads(raw))
    except Exception:  # whatever is wrong, the routed endpoint answers it as it always did
        return None
    return caller, body, keys[0]


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, or what came before the client went away (False)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return again


async def _handled(scope: Scope, exc: Exception) -> Any:
    """The response the app's exception handlers give `exc` (as FastAPI would)."""
    handlers: dict[Any, Callable[..., Any]] = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return await handlers[cls](Request(scope), exc)
    raise exc
