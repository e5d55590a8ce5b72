"""Softphone settings (`SHARELINE_QR_*`, `SHARELINE_SMTP_*`), part of the aps `Settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SoftphoneSettings(BaseSettings):
    """How long a QR link lives and which SMTP server carries it to the user."""

    model_config = SettingsConfigDict(env_prefix="SHARELINE_", extra="ignore")

    # Promise 7: minutes, not days. Fifteen minutes is enough to open a mail and scan.
    qr_token_ttl_seconds: int = Field(
        default=900,
        ge=30,
        le=7 * 86_400,
        description="How long a softphone's one-time QR link works",
    )
    softphone_register_expiry_seconds: int = Field(
        default=600,
        ge=60,
        le=86_400,
        description="SIP registration expiry given to softphones (Linphone `reg_expires`)",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP relay that e-mails QR codes to users; empty or unset turns "
        "`qr/send` off (503)",
    )
    smtp_port: int = Field(default=25, ge=1, le=65_535, description="Port of the SMTP relay")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="`none`, `starttls` (upgrade after connecting, usually port 587) or "
        "`tls` (implicit TLS, usually port 465); certificates are verified",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP AUTH user name; no AUTH when empty"
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password")
    smtp_sender: str = Field(
        default="ShareLine <shareline@localhost>",
        description="From address of the mails to users",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of the SMTP connection and commands"
    )
