"""Settings of the gateway (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from services.common.settings import CommonSettings


class Settings(CommonSettings):
    gateway_database_url: str | None = None
    gateway_port: int = 8000
    max_body_bytes: int = 1_048_576
    cors_origins: list[str] = []
    extensions_timeout_seconds: float = 30.0
    licensing_timeout_seconds: float = 10.0
    aps_timeout_seconds: float = 60.0
    trusted_proxies: list[str] = []

    @property
    def database_url(self) -> str:
        return self.gateway_database_url or self.sqlite_url("gateway")
