"""Settings of the aps service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import SecretStr, model_validator

from services.aps.softphones.settings import SoftphoneSettings
from services.common.settings import CommonSettings

log = logging.getLogger("shareline.aps.settings")

LOCAL_PROVISIONING_PASSWORD = "local-provisioning-password-change-me"  # noqa: S105


class Settings(CommonSettings, SoftphoneSettings):
    aps_database_url: str | None = None
    aps_port: int = 8003

    # Promise 1: phones authenticate. Switching it off is a local-mode convenience only.
    provisioning_auth: bool = True
    provisioning_user: str = "provision"
    provisioning_password: SecretStr = SecretStr(LOCAL_PROVISIONING_PASSWORD)
    # Both Basic and Digest are accepted; this names the one a 401 asks for.
    provisioning_challenge: Literal["basic", "digest"] = "basic"
    # Key sealing each device's provisioning password at rest (derived from the service
    # token secret when unset, so a fresh local install works out of the box).
    aps_credential_key: SecretStr | None = None

    # The URL phones are told to fetch from (the gateway's /provision/ path by default).
    provisioning_base_url: str | None = None
    provisioning_resync_seconds: int = 86_400
    sip_register_expiry_seconds: int = 600

    # Per-address protection of the phone-facing path.
    provisioning_miss_limit: int = 20
    provisioning_miss_window_seconds: float = 60.0
    provisioning_ban_seconds: float = 600.0
    provisioning_rate_per_second: float = 50.0
    provisioning_rate_burst: int = 200
    # How often a replica checks whether another replica committed a newer snapshot.
    snapshot_check_seconds: float = 1.0
    fetch_flush_seconds: float = 1.0

    resync_batch_size: int = 50
    resync_batch_pause_seconds: float = 1.0

    @model_validator(mode="after")
    def _provisioning_auth_only_off_locally(self) -> Settings:
        if not self.provisioning_auth and self.mode != "local":
            raise ValueError("SHARELINE_PROVISIONING_AUTH=false is accepted only in local mode")
        if self.mode != "local":
            password = self.provisioning_password.get_secret_value()
            if password == LOCAL_PROVISIONING_PASSWORD or len(password) < 16:
                raise ValueError(
                    "SHARELINE_PROVISIONING_PASSWORD must be set to at least 16 characters "
                    "outside local mode"
                )
        return self

    @property
    def database_url(self) -> str:
        return self.aps_database_url or self.sqlite_url("aps")

    @property
    def provisioning_url(self) -> str:
        base = self.provisioning_base_url or self.public_base_url.rstrip("/") + "/provision/"
        return base if base.endswith("/") else base + "/"
