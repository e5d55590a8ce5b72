"""The parts of a service's lifespan that every service shares."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine

from services.common.db import create_db_engine, create_tables
from services.common.service_tokens import TokenMinter, TokenVerifier, require_caller
from services.common.settings import CommonSettings


def open_database(app: FastAPI, url: str, table_prefix: str) -> Engine:
    engine = create_db_engine(url)
    create_tables(engine, table_prefix)
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
