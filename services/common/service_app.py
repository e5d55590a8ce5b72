"""The parts of a service's lifespan that every service shares."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine

from services.common.db import create_db_engine, create_tables
from services.common.migrations import (
    DatabaseBehind,
    require_head,
    service_for_prefix,
    upgrade_then,
)
from services.common.service_tokens import TokenMinter, TokenVerifier, require_caller
from services.common.settings import CommonSettings

log = logging.getLogger("shareline.db")


def open_database(app: FastAPI, url: str, table_prefix: str) -> Engine:
    """Open the service's database and make sure its schema is current.

    Local mode migrates to head, then creates any table the migrations do not know yet
    (models move faster than migrations during development). Production mode changes
    no schema: it refuses to start on a database that is behind (`make migrate` first).
    """
    engine = create_db_engine(url)
    service = service_for_prefix(table_prefix)
    mode = getattr(getattr(app.state, "settings", None), "mode", "local")
    try:
        if service is not None and mode != "local":
            require_head(engine, service)
        elif service is not None:
            upgrade_then(
                engine,
                service,
                lambda: create_tables(engine, table_prefix),
                adopt_unversioned=True,
            )
        else:
            create_tables(engine, table_prefix)
    except DatabaseBehind as exc:
        log.error("refusing to start: %s", exc)
        engine.dispose()
        raise
    app.state.engine = engine
    return engine


def install_service_auth(app: FastAPI, settings: CommonSettings, name: str) -> None:
    secret = settings.service_token_secret.get_secret_value()
    app.state.token_verifier = TokenVerifier(secret, audience=name)


def minter_for(settings: CommonSettings, issuer: str, audience: str) -> TokenMinter:
    return TokenMinter(
        settings.service_token_secret.get_secret_value(),
        issuer=issuer,
        audience=audience,
        ttl_seconds=settings.service_token_ttl_seconds,
    )


def protected_router() -> APIRouter:
    """A router whose every route demands a valid service token."""
    return APIRouter(dependencies=[Depends(require_caller)])


def protect_openapi(app: FastAPI) -> None:
    """A service's OpenAPI document, like everything else, needs a service token.

    The gateway fetches it with one and publishes the merged document.
    """
    from fastapi.responses import JSONResponse

    hidden = {app.openapi_url, app.docs_url, app.redoc_url, "/docs/oauth2-redirect"}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in hidden]

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_caller)])
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())
