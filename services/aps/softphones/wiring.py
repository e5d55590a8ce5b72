"""How the APS app takes softphones in: its routes, and a runtime for its lifespan."""

from __future__ import annotations

from fastapi import FastAPI

from services.aps.softphones.router import admin_router, provisioning_router


def include_softphones(app: FastAPI) -> None:
    """Add the QR routes and the one-time link route to the APS app.

    The app's lifespan sets `app.state.softphones = Softphones.start(settings)` and
    closes it at shutdown.
    """
    app.include_router(admin_router())
    app.include_router(provisioning_router())
