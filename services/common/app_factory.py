"""What every ShareLine FastAPI app has in common, assembled in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.errors import PROBLEM_MEDIA_TYPE, Problem, install_error_handlers
from services.common.health import ReadinessCheck, health_router
from services.common.heap import settled_after_startup
from services.common.logs import configure_logging
from services.common.metrics import install_metrics
from services.common.middleware import RequestIdMiddleware, WriteConcurrencyLimit
from services.common.settings import CommonSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: CommonSettings,
    lifespan: Callable[[FastAPI], AsyncIterator[None]] | Lifespan,
    readiness: dict[str, ReadinessCheck],
    version: str = "0.1.0",
    limit_writes: bool = True,
) -> FastAPI:
    configure_logging(name, settings.log_level, settings.log_json)
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=settled_after_startup(lifespan),
    )
    app.state.settings = settings
    app.state.service_name = name
    install_error_handlers(app)
    if limit_writes:
        app.add_middleware(WriteConcurrencyLimit, limit=settings.max_concurrent_writes)
    app.add_middleware(RequestIdMiddleware)
    install_metrics(app)
    app.include_router(health_router(readiness))
    _document_problem_schema(app)
    return app


def _document_problem_schema(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        _validation_errors_are_problems(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _validation_errors_are_problems(schema: dict[str, Any]) -> None:
    """FastAPI documents 422 as HTTPValidationError; ours are problem documents."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            _document_malformed_bodies(operation)
            response = operation.get("responses", {}).get("422")
            # A route that documents its own 422 problems (with examples) keeps them.
            if response is not None and PROBLEM_MEDIA_TYPE not in response.get("content", {}):
                operation["responses"]["422"] = {
                    "description": "Validation error",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _document_malformed_bodies(operation: dict[str, Any]) -> None:
    """A body that is not JSON at all is a 400 problem before validation; say so."""
    if "requestBody" not in operation:
        return
    operation.setdefault("responses", {}).setdefault(
        "400",
        {
            "description": "The body could not be parsed",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        },
    )
