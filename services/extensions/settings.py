"""Settings of the extensions service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from services.common.settings import CommonSettings


class Settings(CommonSettings):
    extensions_database_url: str | None = None
    extensions_port: int = 8001

    @property
    def database_url(self) -> str:
        return self.extensions_database_url or self.sqlite_url("extensions")
