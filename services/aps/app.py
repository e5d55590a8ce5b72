"""The aps service: `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from services.aps.devices.credentials import Sealer
from services.aps.devices.router import router as devices_router
from services.aps.provisioning.credentials import Nonces
from services.aps.provisioning.fetches import FetchRecorder
from services.aps.provisioning.guard import AddressGuard
from services.aps.provisioning.index import ProvisioningIndex
from services.aps.provisioning.router import router as provisioning_router
from services.aps.resync.router import router as resync_router
from services.aps.settings import Settings
from services.aps.snapshots.models import ApsState
from services.aps.snapshots.router import router as snapshots_router
from services.aps.softphones.runtime import Softphones
from services.aps.softphones.wiring import include_softphones
from services.aps.vendors.catalog import Catalog
from services.aps.vendors.router import router as vendors_router
from services.common.app_factory import build_app
from services.common.db import unit_of_work
from services.common.health import database_check
from services.common.service_app import (
    install_service_auth,
    minter_for,
    open_database,
    protect_openapi,
)
from services.extensions.client import ExtensionsClient

NAME = "aps"
log = logging.getLogger("shareline.aps")


def _ensure_state_row(app: FastAPI) -> None:
    with contextlib.suppress(IntegrityError), unit_of_work(app.state.engine) as session:
        if session.get(ApsState, 1) is None:
            session.add(ApsState(id=1, latest_revision=0))


def _sealer(settings: Settings) -> Sealer:
    key = settings.aps_credential_key or settings.service_token_secret
    return Sealer.from_secret(key.get_secret_value())


def _guard(settings: Settings) -> AddressGuard:
    return AddressGuard(
        miss_limit=settings.provisioning_miss_limit,
        miss_window=settings.provisioning_miss_window_seconds,
        ban_seconds=settings.provisioning_ban_seconds,
        rate_per_second=settings.provisioning_rate_per_second,
        burst=settings.provisioning_rate_burst,
    )


async def _every(seconds: float, action: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(action)
        except Exception:  # a failed round must not stop the next one
            log.exception("periodic APS task failed")


def create_app(
    settings: Settings | None = None, *, extensions: ExtensionsClient | None = None
) -> FastAPI:
    """The APS app; `extensions` replaces the client built from settings (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_database(app, settings.database_url, "aps")
        install_service_auth(app, settings, NAME)
        if not settings.provisioning_auth:
            log.warning(
                "PROVISIONING AUTHENTICATION IS OFF (SHARELINE_PROVISIONING_AUTH=false): "
                "anyone who can reach /provision/ can read every phone's SIP password. "
                "Local mode only."
            )
        app.state.extensions = extensions or ExtensionsClient(
            settings.extensions_url,
            minter_for(settings, NAME, "extensions"),
            timeout=settings.upstream_timeout_seconds,
        )
        app.state.softphones = Softphones.start(settings, app.state.extensions)
        _ensure_state_row(app)
        app.state.index.refresh(engine)
        tasks = [
            asyncio.create_task(
                _every(settings.snapshot_check_seconds, lambda: app.state.index.refresh(engine))
            ),
            asyncio.create_task(
                _every(settings.fetch_flush_seconds, lambda: app.state.fetches.flush(engine))
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            app.state.fetches.flush(engine)
            app.state.softphones.close()
            if extensions is None:
                app.state.extensions.close()
            engine.dispose()

    app = build_app(
        name=NAME,
        title="ShareLine APS",
        description=(
            "Auto-provisioning: vendors, devices, APS snapshots and the phone-facing path."
        ),
        settings=settings,
        lifespan=lifespan,
        readiness={"database": database_check},
    )
    app.state.catalog = Catalog.builtin()
    app.state.sealer = _sealer(settings)
    app.state.index = ProvisioningIndex(sealer=app.state.sealer)
    app.state.common_file_vendors = _common_file_vendors(app.state.catalog)
    app.state.nonces = Nonces(settings.service_token_secret.get_secret_value())
    app.state.guard = _guard(settings)
    app.state.fetches = FetchRecorder()
    for router in (
        vendors_router,
        devices_router,
        snapshots_router,
        resync_router,
        provisioning_router,
    ):
        app.include_router(router)
    include_softphones(app)
    protect_openapi(app)
    return app


def _common_file_vendors(catalog: Catalog) -> dict[str, str]:
    """Common file name → vendor, so phone fetches can be counted by vendor."""
    owners: dict[str, str] = {}
    for vendor in catalog:
        names = getattr(vendor, "common_file_names", None)
        for name in names() if names else []:
            owners.setdefault(name.lower(), vendor.name)
    return owners
