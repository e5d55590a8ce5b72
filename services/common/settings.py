"""Settings shared by every service, read from `SHARELINE_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_SERVICE_SECRET = "local-development-service-secret-change-me"  # noqa: S105


class CommonSettings(BaseSettings):
    """What every ShareLine process reads. Service settings subclass this."""

    model_config = SettingsConfigDict(env_prefix="SHARELINE_", extra="ignore")

    mode: Literal["local", "production"] = "local"
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    log_json: bool = True
    host: str = "127.0.0.1"

    service_token_secret: SecretStr = SecretStr(LOCAL_SERVICE_SECRET)
    service_token_ttl_seconds: int = 120

    public_base_url: str = "http://127.0.0.1:8000"
    extensions_url: str = "http://127.0.0.1:8001"
    licensing_url: str = "http://127.0.0.1:8002"
    aps_url: str = "http://127.0.0.1:8003"
    upstream_timeout_seconds: float = 10.0
    max_concurrent_writes: int = Field(
        default=8,
        ge=1,
        le=32,
        description="Requests that may write at once in one service process "
        "(kept below the thread pool)",
    )

    @model_validator(mode="after")
    def _refuse_default_secret_outside_local_mode(self) -> CommonSettings:
        if self.mode != "local":
            secret = self.service_token_secret.get_secret_value()
            if secret == LOCAL_SERVICE_SECRET or len(secret) < 32:
                raise ValueError(
                    "SHARELINE_SERVICE_TOKEN_SECRET must be set to at least 32 random "
                    "characters outside local mode"
                )
        return self

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.data_dir / (name + '.db')}"
