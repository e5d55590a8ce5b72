"""Settings of the aps service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from services.common.settings import CommonSettings


class Settings(CommonSettings):
    aps_database_url: str | None = None
    aps_port: int = 8003

    @property
    def database_url(self) -> str:
        return self.aps_database_url or self.sqlite_url("aps")
