"""Request bodies the gateway will not pass on: too large, or JSON nested too deep.

Runs for every route, the gateway's own and the proxied ones, before any parser.
A declared Content-Length over the limit is refused without reading a byte; a
streamed body is read only up to the limit. JSON nesting is measured by counting
brackets outside strings, so a 10,000-deep document costs a scan, not a recursion.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import BadRequest, PayloadTooLarge, ProblemError, problem_response

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JsonTooDeep(BadRequest):
    slug = "json-too-deep"


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def _is_json(content_type: str) -> bool:
    # FastAPI parses a body without Content-Type as JSON too.
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "" or media == "application/json" or media.endswith("+json")


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, self._too_large())
            return
        body, more_body = bytearray(), True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.extend(message.get("body", b""))
            more_body = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, self._too_large())
                return
        json_body = body and _is_json(headers.get("content-type", ""))
        if json_body and json_depth_exceeds(bytes(body), self.max_json_depth):
            error = JsonTooDeep(f"JSON nested deeper than {self.max_json_depth} levels")
            await self._refuse(scope, receive, send, error)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than {self.max_bytes} bytes", limit=self.max_bytes
        )

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: ProblemError) -> None:
        response = problem_response(error.to_problem(scope["path"]), {"Connection": "close"})
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
