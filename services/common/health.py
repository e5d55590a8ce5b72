"""Liveness and readiness probes, open to the orchestrator without a token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

ReadinessCheck = Callable[[Request], Awaitable[dict[str, Any]]]


def database_check(request: Request) -> Awaitable[dict[str, Any]]:
    async def check() -> dict[str, Any]:
        engine = request.app.state.engine
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return {"ok": False, "detail": type(exc).__name__}
        return {"ok": True}

    return check()


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: the process can do its work")
    async def readyz(request: Request) -> JSONResponse:
        results = {name: await check(request) for name, check in checks.items()}
        ready = all(r.get("ok") for r in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    return router
