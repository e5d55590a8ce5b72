"""Dependencies of the licensing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.common.bounds import MAX_DB_INT
from services.licensing.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Entries to skip")]
