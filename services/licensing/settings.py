"""Settings of the licensing service (`SHARELINE_*` environment variables)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from services.common.settings import CommonSettings

DEFAULT_ISSUER = "shareline-license-vendor"


class Settings(CommonSettings):
    licensing_database_url: str | None = None
    licensing_port: int = 8002

    # Trusted vendor keys: kid → Ed25519 public key PEM, as JSON in the environment
    # and/or in a JSON file of the same shape. Both are merged; the file wins on a clash.
    license_public_keys: dict[str, str] = Field(default_factory=dict)
    license_public_keys_file: Path | None = None
    license_issuer: str = DEFAULT_ISSUER

    license_trial_users: int = 10
    license_trial_shared_devices: int = 5
    license_trial_softphones: int = 2
    license_trial_days: int = 30

    license_grace_days: int = 7
    license_expiry_warning_days: int = 14
    license_clock_tolerance_seconds: int = 300

    license_reservation_lifetime_seconds: float = 60.0
    license_reconcile_interval_seconds: float = 15.0
    license_inventory_margin_seconds: float = 5.0

    @property
    def database_url(self) -> str:
        return self.licensing_database_url or self.sqlite_url("licensing")

    def trusted_public_keys(self) -> dict[str, str]:
        keys = dict(self.license_public_keys)
        if self.license_public_keys_file is not None:
            loaded = json.loads(self.license_public_keys_file.read_text())
            if not isinstance(loaded, dict):
                raise ValueError("SHARELINE_LICENSE_PUBLIC_KEYS_FILE must hold a JSON object")
            keys.update({str(kid): str(pem) for kid, pem in loaded.items()})
        return keys
