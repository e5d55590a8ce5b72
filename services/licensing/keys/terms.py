"""What a license grants: from a verified key, or the built-in trial."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.licensing.client import SHARED_DEVICES, SOFTPHONES, USERS


@dataclass(frozen=True)
class LicenseTerms:
    """The pools and validity window of the license in force."""

    trial: bool
    customer: str | None
    kid: str | None
    license_id: str | None
    issued_at: datetime | None
    not_before: datetime
    expires_at: datetime
    users: int
    shared_devices: int
    softphones: int

    def capacities(self) -> dict[str, int]:
        """Units per pool; each softphone license also adds a shared-device unit (rule 6)."""
        return {
            USERS: self.users,
            SHARED_DEVICES: self.shared_devices + self.softphones,
            SOFTPHONES: self.softphones,
        }

    def licensed(self) -> dict[str, int]:
        return {USERS: self.users, SHARED_DEVICES: self.shared_devices, SOFTPHONES: self.softphones}
