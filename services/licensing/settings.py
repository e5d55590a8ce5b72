"""Settings of the licensing service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from services.common.settings import CommonSettings


class Settings(CommonSettings):
    licensing_database_url: str | None = None
    licensing_port: int = 8002

    @property
    def database_url(self) -> str:
        return self.licensing_database_url or self.sqlite_url("licensing")
