"""The licensing service: `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.middleware import Middleware

from services.common.app_factory import build_app
from services.common.db import unit_of_work
from services.common.errors import ServiceUnavailable
from services.common.health import database_check
from services.common.service_app import (
    install_service_auth,
    open_database,
    protect_openapi,
)
from services.licensing.allocations import models as _allocation_tables  # noqa: F401
from services.licensing.allocations.batching import WriteBatcher
from services.licensing.allocations.fast_path import PATH, ReservationFastPath
from services.licensing.allocations.idempotency import forget_old
from services.licensing.allocations.reconcile import release_expired
from services.licensing.allocations.router import batched, internal, public
from services.licensing.audit import models as _audit_tables  # noqa: F401
from services.licensing.audit.router import router as audit_router
from services.licensing.clock import Clock, system_clock
from services.licensing.keys.models import LicKey
from services.licensing.keys.router import router as keys_router
from services.licensing.keys.service import trial_terms
from services.licensing.keys.verify import load_trusted_keys
from services.licensing.pools.service import ensure_pools, lock_all_pools, set_capacities
from services.licensing.settings import Settings
from services.licensing.system import ensure_system, record_time_seen
from services.licensing.transaction import in_transaction
from services.licensing.write_limit import exempt_batched_routes

NAME = "licensing"
RECONCILER_ACTOR = "service:licensing-reconciler"

log = logging.getLogger("shareline.licensing")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The licensing app; `app.state.clock` may be replaced (tests move time with it)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.trusted_keys = load_trusted_keys(settings.trusted_public_keys())
        engine = open_database(app, settings.database_url, "lic")
        install_service_auth(app, settings, NAME)
        bootstrap(engine, settings, app.state.clock)
        app.state.write_batcher = WriteBatcher(engine, settings)
        warm_routes(app)
        reconciler = asyncio.create_task(reconcile_periodically(app, settings))
        try:
            yield
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await app.state.write_batcher.close()
            engine.dispose()

    app = build_app(
        name=NAME,
        title="ShareLine licensing",
        description="License keys, pools and allocations.",
        settings=settings,
        lifespan=lifespan,
        readiness={"database": database_check},
    )
    exempt_batched_routes(app, settings.max_concurrent_writes)
    # Innermost middleware, in front of FastAPI's router (allocations/fast_path.py).
    app.user_middleware.append(
        Middleware(
            ReservationFastPath,
            route=next(r for r in batched.routes if getattr(r, "path", None) == PATH),
        )
    )
    app.state.clock = system_clock
    # First: requests are matched against routers in order, and this is the hot one.
    app.include_router(batched)
    app.include_router(keys_router)
    app.include_router(public)
    app.include_router(audit_router)
    app.include_router(internal)
    protect_openapi(app)
    return app


def warm_routes(app: FastAPI) -> None:
    """Match one request against every route now, not in the first burst of traffic.

    FastAPI prepares an included router's routes on the first match (pydantic schemas for
    every parameter): ~0.3 s of the event loop that would land on the first requests.
    """
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        route.matches(scope)


def bootstrap(engine: Engine, settings: Settings, clock: Clock) -> None:
    """First start: the system id and the trial pools. Every start: remember the time."""
    now = clock()
    with unit_of_work(engine) as session:
        system = ensure_system(session, now)
        trial = trial_terms(system, settings).capacities()
        ensure_pools(session, trial)
        if session.exec(select(LicKey.id).limit(1)).first() is None:
            set_capacities(session, trial)
        record_time_seen(session, now)


def reconcile_once(engine: Engine, clock: Clock) -> int:
    """Release reservations past their lifetime; answers how many were released."""
    now = clock()

    def work(session: Session) -> int:
        lock_all_pools(session)  # in one order, before anything else: no deadlock
        record_time_seen(session, now)
        forget_old(session, now)
        return len(release_expired(session, now=now, actor=RECONCILER_ACTOR))

    return in_transaction(engine, work)


async def reconcile_periodically(app: FastAPI, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.license_reconcile_interval_seconds)
        try:
            await asyncio.to_thread(reconcile_once, app.state.engine, app.state.clock)
        except ServiceUnavailable:
            log.warning("reconciler skipped a round: the database is busy")
        except Exception:  # the loop must outlive one bad round
            log.exception("reconciler round failed")
