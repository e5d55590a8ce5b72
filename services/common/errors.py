"""The error model: every error is `application/problem+json` (RFC 9457).

    ProblemError
    ├── BadRequest           400 bad-request
    ├── Unauthorized         401 unauthorized
    ├── Forbidden            403 forbidden
    ├── NotFound             404 not-found
    ├── Conflict             409 conflict
    ├── Gone                 410 gone
    ├── PayloadTooLarge      413 payload-too-large
    ├── Unprocessable        422 validation-error
    ├── TooManyRequests      429 too-many-requests
    ├── BadGateway           502 bad-gateway
    └── ServiceUnavailable   503 service-unavailable

A domain error subclasses one of these with its own `slug`, so its `type` is stable.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.logs import loggable_path

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:shareline:problem:"

log = logging.getLogger("shareline.errors")


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


class Problem(BaseModel):
    """An RFC 9457 problem document; extra members carry details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:shareline:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "extension 100 does not exist",
                }
            ]
        },
    )

    type: str = Field(description="Stable URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}
        retry_after = extra.get("retry_after_seconds")
        if isinstance(retry_after, int | float) and retry_after > 0:
            # Clients and proxies honour the header, not a member of the body.
            self.headers["Retry-After"] = str(max(1, round(retry_after)))

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(ProblemError):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "Validation error"


class TooManyRequests(ProblemError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class BadGateway(ProblemError):
    status, slug, title = 502, "bad-gateway", "Bad gateway"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class RemoteProblem(ProblemError):
    """A problem another service answered, re-rendered verbatim to our own caller."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail"))
        self.body = body
        self.http_status = int(body.get("status") or 502)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body = dict(self.body)
        if instance:
            body["instance"] = instance
        return body


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation error"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _clean_validation_errors(errors: list[Any]) -> list[dict[str, Any]]:
    # The offending input is left out: it may be a password.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.to_problem(request.url.path), exc.headers or None)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_validation_errors(list(exc.errors()))
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(
        Unprocessable(detail or "the request is invalid", errors=errors).to_problem(
            request.url.path
        )
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    body = {"type": problem_type(slug), "title": title, "status": exc.status_code}
    if exc.detail and exc.detail != title:
        body["detail"] = str(exc.detail)
    body["instance"] = request.url.path
    return problem_response(body, dict(exc.headers) if exc.headers else None)


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # A write lock held past the busy timeout (SQLite) or `lock_timeout` (PostgreSQL) can
    # surface outside a unit of work's own handling (e.g. at BEGIN IMMEDIATE): it is still
    # "busy, try again", never a 500.
    message = str(exc).lower()
    if any(sign in message for sign in ("locked", "lock timeout", "could not serialize")):
        log.warning("database busy on %s %s", request.method, loggable_path(request.url.path))
        busy = ServiceUnavailable("the database is busy; try again", retry_after_seconds=1)
        return problem_response(busy.to_problem(request.url.path), busy.headers)
    return await _on_unhandled(request, exc)


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path))
    return problem_response(ProblemError("an unexpected error occurred").to_problem())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OperationalError, _on_database_error)
    app.add_exception_handler(Exception, _on_unhandled)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json errors."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        slug, title = _STATUS_SLUGS.get(status, ("service-unavailable", "Service unavailable"))
        if status == 502:
            slug, title = "bad-gateway", "Bad gateway"
        out[status] = {
            "description": title,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": {"type": problem_type(slug), "title": title, "status": status},
                }
            },
        }
    return out
