"""Request and answer bodies of the allocation routes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.licensing.client import HOLDER_PREFIXES

PoolName = Literal["users", "shared_devices", "softphones"]
_HOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def check_holders(pool: str, holders: list[str]) -> None:
    prefix = HOLDER_PREFIXES[pool]
    for holder in holders:
        if not holder.startswith(prefix) or not _HOLDER_NAME.match(holder[len(prefix) :]):
            raise ValueError(
                f"holders of the {pool} pool look like {prefix}<name> (letters, digits, "
                f"'_', '.', ':', '-'; at most 64)"
            )
    if len(set(holders)) != len(holders):
        raise ValueError("a holder is listed twice")


class PoolHolders(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pool": "shared_devices", "holders": ["slot:100_2"]}]},
    )

    pool: PoolName
    holders: list[str] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _holders_fit_the_pool(self) -> PoolHolders:
        check_holders(self.pool, self.holders)
        return self


class ReservationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c1e7a9b8d4c3e2f1a0b9c8d7e6f5a",
                    "pool": "shared_devices",
                    "holders": ["slot:100_2"],
                    "state": "reserved",
                    "expires_at": "2026-11-26T09:01:00+00:00",
                }
            ]
        }
    )

    id: str
    pool: str
    holders: list[str]
    state: str
    expires_at: str


class ReleasedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"released": 1}]})

    released: int


class InventoryIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "holders": {"users": ["ext:100", "ext:101"], "shared_devices": ["slot:100_2"]},
                    "taken_at": "2026-11-26T09:00:00+00:00",
                }
            ]
        },
    )

    holders: dict[PoolName, list[str]]
    taken_at: AwareDatetime

    @model_validator(mode="after")
    def _holders_fit_their_pools(self) -> InventoryIn:
        for pool, names in self.holders.items():
            if len(names) > 100_000:
                raise ValueError("at most 100,000 holders per pool")
            check_holders(pool, names)
        return self


class AllocationOut(BaseModel):
    pool: str
    holder: str
    state: str
    owner: str
    reservation_id: str
    created_at: str
    confirmed_at: str | None


class AllocationPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "pool": "users",
                            "holder": "ext:100",
                            "state": "confirmed",
                            "owner": "extensions",
                            "reservation_id": "5f0c1e7a9b8d4c3e2f1a0b9c8d7e6f5a",
                            "created_at": "2026-11-26T09:00:00+00:00",
                            "confirmed_at": "2026-11-26T09:00:01+00:00",
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                }
            ]
        }
    )

    items: list[AllocationOut]
    total: int
    limit: int
    offset: int


class ReconcileReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "expired_reservations": [
                        {
                            "reservation_id": "5f0c1e7a9b8d4c3e2f1a0b9c8d7e6f5a",
                            "pool": "shared_devices",
                            "holders": ["slot:100_3"],
                        }
                    ],
                    "orphans": [{"pool": "users", "holder": "ext:104", "owner": "extensions"}],
                    "released": {"users": 1, "shared_devices": 1, "softphones": 0},
                }
            ]
        }
    )

    expired_reservations: list[dict[str, object]]
    orphans: list[dict[str, str]]
    released: dict[str, int]
