"""Softphone settings (`SHARELINE_QR_*`, `SHARELINE_SMTP_*` environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SoftphoneSettings(BaseSettings):
    """How long a QR link lives and which SMTP server carries it to the user."""

    model_config = SettingsConfigDict(env_prefix="SHARELINE_", extra="ignore")

    # Promise 7: minutes, not days. Fifteen minutes is enough to open a mail and scan.
    qr_token_ttl_seconds: int = Field(default=900, ge=30, le=7 * 86_400)
    # How long the app's registration lasts before it refreshes it (Linphone reg_expires).
    softphone_register_expiry_seconds: int = Field(default=600, ge=60, le=86_400)

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "ShareLine <shareline@localhost>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
