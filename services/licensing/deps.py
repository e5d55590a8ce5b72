"""Dependencies of the licensing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.common.bounds import MAX_DB_INT
from services.common.service_tokens import Caller, require_caller
from services.licensing.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Entries to skip")]


async def caller_on_loop(request: Request) -> Caller:
    """`require_caller` on the event loop: a hot async route then needs no worker thread.

    (FastAPI runs every plain `def` dependency in the thread pool, one handoff each.)
    """
    return require_caller(request)


CallerOnLoop = Annotated[Caller, Depends(caller_on_loop)]
