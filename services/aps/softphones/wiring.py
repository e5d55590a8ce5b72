"""How the APS app takes softphones in: the vendor, the routes, and a lifespan runtime."""

from __future__ import annotations

from fastapi import FastAPI

from services.aps.softphones.router import admin_router, provisioning_router
from services.aps.softphones.vendor import SoftphoneVendor


def include_softphones(app: FastAPI) -> None:
    """Add the `softphone` vendor to the catalog and the QR and one-time link routes.

    The app's lifespan sets `app.state.softphones = Softphones.start(...)` and closes
    it at shutdown.
    """
    app.state.catalog.add(SoftphoneVendor())
    app.include_router(admin_router())
    app.include_router(provisioning_router())
