"""The licensing service: `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app_factory import build_app
from services.common.health import database_check
from services.common.service_app import (
    install_service_auth,
    open_database,
    protect_openapi,
)
from services.licensing.settings import Settings

NAME = "licensing"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_database(app, settings.database_url, "lic")
        install_service_auth(app, settings, NAME)
        try:
            yield
        finally:
            engine.dispose()

    app = build_app(
        name=NAME,
        title="ShareLine licensing",
        description="License keys, pools and allocations.",
        settings=settings,
        lifespan=lifespan,
        readiness={"database": database_check},
    )
    protect_openapi(app)
    return app
