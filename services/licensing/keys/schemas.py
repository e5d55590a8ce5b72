"""Bodies of the license routes, with the examples OpenAPI shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STATUS_EXAMPLE: dict[str, Any] = {
    "system_id": "SL-7K2M-Q9XD-A4TR-PL3C",
    "license": {
        "trial": False,
        "customer": "Example GmbH",
        "kid": "3f9a1c0d5e7b2a64",
        "license_id": "lic-2026-0042",
        "issued_at": "2026-11-26T08:00:00+00:00",
        "not_before": "2026-11-26T08:00:00+00:00",
        "expires_at": "2027-11-26T08:00:00+00:00",
        "grace_ends_at": "2027-12-03T08:00:00+00:00",
        "status": "valid",
    },
    "pools": {
        "shared_devices": {
            "licensed": 20,
            "capacity": 25,
            "used": 3,
            "free": 22,
            "over_limit": False,
        },
        "softphones": {"licensed": 5, "capacity": 5, "used": 1, "free": 4, "over_limit": False},
        "users": {"licensed": 50, "capacity": 50, "used": 12, "free": 38, "over_limit": False},
    },
    "allocations_allowed": True,
    "warnings": [],
    "checked_at": "2026-11-26T09:00:00+00:00",
}


class InstallKey(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"key": "eyJhbGciOiJFZERTQSIsImtpZCI6Ij…"}]},
    )

    key: str = Field(min_length=1, max_length=8192, description="The license key (compact JWS)")


class PoolUsage(BaseModel):
    licensed: int
    capacity: int = Field(description="Units available (shared devices include softphones)")
    used: int
    free: int
    over_limit: bool


class LicenseInfo(BaseModel):
    trial: bool
    customer: str | None
    kid: str | None
    license_id: str | None
    issued_at: str | None
    not_before: str
    expires_at: str
    grace_ends_at: str
    status: str = Field(description="valid, grace (expired, still allocating) or expired")


class LicenseStatus(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [STATUS_EXAMPLE]})

    system_id: str = Field(description="Quote this to buy a license key")
    license: LicenseInfo
    pools: dict[str, PoolUsage]
    allocations_allowed: bool
    warnings: list[dict[str, Any]]
    checked_at: str


class HistoryEntry(BaseModel):
    license_id: str
    kid: str
    customer: str
    issued_at: str | None
    not_before: str
    expires_at: str
    users: int
    shared_devices: int
    softphones: int
    installed_at: str
    installed_by: str


class HistoryPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "license_id": "lic-2026-0042",
                            "kid": "3f9a1c0d5e7b2a64",
                            "customer": "Example GmbH",
                            "issued_at": "2026-11-26T08:00:00+00:00",
                            "not_before": "2026-11-26T08:00:00+00:00",
                            "expires_at": "2027-11-26T08:00:00+00:00",
                            "users": 50,
                            "shared_devices": 20,
                            "softphones": 5,
                            "installed_at": "2026-11-26T09:00:00+00:00",
                            "installed_by": "admin",
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                }
            ]
        }
    )

    items: list[HistoryEntry]
    total: int
    limit: int
    offset: int
