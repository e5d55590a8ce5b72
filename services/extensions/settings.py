"""Settings of the extensions service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from services.common.settings import CommonSettings

FEATURE_CODE_PATTERN = r"^\*[0-9]{1,4}$"


class Settings(CommonSettings):
    extensions_database_url: str | None = None
    extensions_port: int = 8001

    # How many devices one extension may share at most (DESIGN "max devices").
    max_devices_cap: int = Field(default=10, ge=1, le=99)

    # Where telephony revisions are written; Asterisk `#include`s `<dir>/live/*.conf`.
    asterisk_config_dir: Path | None = None

    # The Asterisk Manager Interface; AMI is off while the host is empty.
    ami_host: str = ""
    ami_port: int = 5038
    ami_username: str = "shareline"
    ami_secret: SecretStr = SecretStr("")
    ami_timeout_seconds: float = 5.0

    # What phones are told to register to (the credentials sheet, APS).
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=1, le=65535)
    sip_transport: Literal["udp", "tcp", "tls"] = "udp"
    # The administrator's own PJSIP transport section the rendered endpoints use.
    pjsip_transport_name: str = Field(
        default="transport-udp", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
    )

    # Feature codes dialled by agents: login/logout code followed by the queue number.
    agent_login_code: str = Field(default="*45", pattern=FEATURE_CODE_PATTERN)
    agent_logout_code: str = Field(default="*46", pattern=FEATURE_CODE_PATTERN)

    @field_validator("agent_logout_code")
    @classmethod
    def _codes_differ(cls, value: str, info: object) -> str:
        login = getattr(info, "data", {}).get("agent_login_code")
        if login == value:
            raise ValueError("the agent login and logout codes must differ")
        return value

    @property
    def database_url(self) -> str:
        return self.extensions_database_url or self.sqlite_url("extensions")

    @property
    def config_dir(self) -> Path:
        return self.asterisk_config_dir or self.data_dir / "asterisk"

    @property
    def ami_enabled(self) -> bool:
        return bool(self.ami_host.strip())
