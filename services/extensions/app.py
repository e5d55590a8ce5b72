"""The extensions service: `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.common.app_factory import build_app
from services.common.health import database_check
from services.common.metrics import metrics_for
from services.common.service_app import (
    install_service_auth,
    minter_for,
    open_database,
    protect_openapi,
)
from services.extensions.asterisk.deploy import Deployer
from services.extensions.asterisk_link import AsteriskLink, ami_config
from services.extensions.extension.router import router as extensions_router
from services.extensions.internal.router import router as internal_router
from services.extensions.licensing_seam import LicenseSeam
from services.extensions.queues.router import router as queues_router
from services.extensions.settings import Settings
from services.extensions.slots.router import router as slots_router
from services.extensions.telephony.commits import Committer, ensure_lock_row
from services.extensions.telephony.router import router as telephony_router
from services.extensions.telephony.state import empty_revision_files
from services.licensing.client import LicensingClient

NAME = "extensions"


def create_app(
    settings: Settings | None = None, *, licensing_http: httpx.Client | None = None
) -> FastAPI:
    """Build the app; `licensing_http` replaces the HTTP client to licensing (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_database(app, settings.database_url, "ext")
        install_service_auth(app, settings, NAME)
        ensure_lock_row(engine)
        licensing = LicensingClient(
            settings.licensing_url,
            minter_for(settings, NAME, "licensing"),
            timeout=settings.upstream_timeout_seconds,
            http=licensing_http,
        )
        seam = LicenseSeam(licensing, engine)
        ami = ami_config(settings)
        app.state.license_seam = seam
        app.state.asterisk_link = AsteriskLink(ami)
        deployer = Deployer(settings.config_dir, ami)
        await asyncio.to_thread(deployer.ensure_live, empty_revision_files(settings))
        app.state.committer = Committer(settings, deployer, metrics_for(app))
        # Licensing may start after us: a failed push is only a warning.
        await asyncio.to_thread(seam.push_inventory)
        try:
            yield
        finally:
            licensing.close()
            engine.dispose()

    app = build_app(
        name=NAME,
        title="ShareLine extensions",
        description="Shared SIP extensions, slots, queues and the Asterisk configuration "
        "they generate.",
        settings=settings,
        lifespan=lifespan,
        readiness={"database": database_check},
    )
    for router in (
        extensions_router,
        slots_router,
        queues_router,
        telephony_router,
        internal_router,
    ):
        app.include_router(router)
    protect_openapi(app)
    return app
