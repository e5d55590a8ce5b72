"""Settings of the gateway (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator, model_validator

from gateway.trusted_proxies import parse_networks
from services.common.settings import CommonSettings

LOCAL_ADMIN_TOKEN_SECRET = "local-development-admin-token-secret-change-me"  # noqa: S105


class Settings(CommonSettings):
    gateway_database_url: str | None = None
    gateway_port: int = 8000
    max_body_bytes: int = 1_048_576
    # Deeper JSON is refused before any parser sees it; real request bodies nest a few levels.
    max_json_depth: int = 32
    cors_origins: list[str] = []
    extensions_timeout_seconds: float = 30.0
    licensing_timeout_seconds: float = 10.0
    aps_timeout_seconds: float = 60.0
    # Peers (addresses or CIDR networks, e.g. an Ingress's pod network) whose
    # X-Forwarded-For names the client; everyone else's is ignored.
    trusted_proxies: list[str] = []

    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    admin_token_secret: SecretStr = SecretStr(LOCAL_ADMIN_TOKEN_SECRET)
    admin_token_ttl_seconds: int = 900
    admin_token_issuer: str = "shareline-gateway"  # noqa: S105
    admin_token_audience: str = "shareline-api"  # noqa: S105

    # Argon2id cost; lowering it weakens stored hashes, raising it slows every login.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4

    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_lockout_seconds: int = 900

    @property
    def database_url(self) -> str:
        return self.gateway_database_url or self.sqlite_url("gateway")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a typo must stop the gateway, not trust nobody silently
        return value

    @model_validator(mode="after")
    def _refuse_default_admin_secret_outside_local_mode(self) -> Settings:
        secret = self.admin_token_secret.get_secret_value()
        if self.mode != "local" and (secret == LOCAL_ADMIN_TOKEN_SECRET or len(secret) < 32):
            raise ValueError(
                "SHARELINE_ADMIN_TOKEN_SECRET must be set to at least 32 random "
                "characters outside local mode"
            )
        if secret == self.service_token_secret.get_secret_value():
            raise ValueError(
                "SHARELINE_ADMIN_TOKEN_SECRET must differ from SHARELINE_SERVICE_TOKEN_SECRET"
            )
        return self
