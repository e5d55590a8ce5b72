"""The licensing service's published client: the one module other services may import.

Pools are `users`, `shared_devices` and `softphones`. Holders are strings:
`ext:<number>` (users), `slot:<auth_name>` (shared_devices), `softphone:<device id>`
(softphones). Allocation is reserve → confirm → release; every call carries an
Idempotency-Key, so the client may safely retry it.

Errors licensing answers are raised as the same problem classes the service raises,
so a service that lets one propagate renders it exactly as licensing did:

    Conflict
    ├── PoolExhausted        pool-exhausted (members pool, capacity, used, requested)
    ├── LicenseExpired       license-expired
    ├── ClockSetBack         clock-set-back
    ├── ReservationExpired   reservation-expired
    └── ReservationConfirmed reservation-confirmed
    NotFound
    └── ReservationNotFound  reservation-not-found
    Unprocessable
    └── IdempotencyKeyReused idempotency-key-reused
    LicensingProblem         any other problem, re-rendered verbatim
    ServiceUnavailable       licensing unreachable or busy (member service="licensing")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from services.common.errors import (
    TYPE_PREFIX,
    Conflict,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    Unprocessable,
)
from services.common.http import ServiceClient

POOLS = ("users", "shared_devices", "softphones")
USERS, SHARED_DEVICES, SOFTPHONES = POOLS
HOLDER_PREFIXES = {USERS: "ext:", SHARED_DEVICES: "slot:", SOFTPHONES: "softphone:"}

Actor = tuple[str | None, str | None]
_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def extension_holder(number: str) -> str:
    return f"ext:{number}"


def slot_holder(auth_name: str) -> str:
    return f"slot:{auth_name}"


def softphone_holder(device_id: str) -> str:
    return f"softphone:{device_id}"


class PoolExhausted(Conflict):
    """No free unit (or the pool is over its limit after a downgrade)."""

    slug, title = "pool-exhausted", "License pool exhausted"

    def __init__(
        self,
        detail: str | None = None,
        *,
        pool: str,
        capacity: int,
        used: int,
        requested: int,
        **extra: Any,
    ) -> None:
        super().__init__(
            detail
            or f"the {pool} pool has {max(capacity - used, 0)} of {capacity} free; "
            f"{requested} requested",
            pool=pool,
            capacity=capacity,
            used=used,
            requested=requested,
            **extra,
        )
        self.pool, self.capacity, self.used, self.requested = pool, capacity, used, requested


class LicenseExpired(Conflict):
    """The license (or trial) expired and its grace period is over."""

    slug, title = "license-expired", "License expired"


class ClockSetBack(Conflict):
    """The system clock is behind the latest time licensing has seen."""

    slug, title = "clock-set-back", "System clock set back"


class ReservationExpired(Conflict):
    """The reservation outlived its lifetime and its units could not be taken again."""

    slug, title = "reservation-expired", "Reservation expired"


class ReservationConfirmed(Conflict):
    """A confirmed reservation cannot be cancelled; release its holders instead."""

    slug, title = "reservation-confirmed", "Reservation already confirmed"


class ReservationNotFound(NotFound):
    slug, title = "reservation-not-found", "Reservation not found"


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was used before with a different request body."""

    slug, title = "idempotency-key-reused", "Idempotency key reused"


class LicensingProblem(ProblemError):
    """Any other problem licensing answered; it renders exactly as licensing wrote it."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail"))
        self.body = body
        self.http_status = int(body.get("status") or 502)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body = dict(self.body)
        if instance:
            body["instance"] = instance
        return body


_KNOWN: dict[str, type[ProblemError]] = {
    cls.slug: cls
    for cls in (
        PoolExhausted,
        LicenseExpired,
        ClockSetBack,
        ReservationExpired,
        ReservationConfirmed,
        ReservationNotFound,
        IdempotencyKeyReused,
    )
}


@dataclass(frozen=True)
class Reservation:
    """Units held for a short while; confirm them once your own change has committed."""

    id: str
    pool: str
    holders: tuple[str, ...]
    state: str
    expires_at: datetime


class LicensingClient(ServiceClient):
    """Reserve, confirm and release license units; report inventories."""

    service_name = "licensing"

    def reserve(
        self,
        pool: str,
        holders: list[str],
        *,
        idempotency_key: str,
        actor: Actor = (None, None),
    ) -> Reservation:
        """All or nothing; raises PoolExhausted (409) when the pool cannot hold them all."""
        response = self.request(
            "POST",
            "/internal/v1/reservations",
            json={"pool": pool, "holders": list(holders)},
            headers={"Idempotency-Key": idempotency_key},
            actor=actor,
        )
        body = self._ok(response)
        return Reservation(
            id=body["id"],
            pool=body["pool"],
            holders=tuple(body["holders"]),
            state=body["state"],
            expires_at=datetime.fromisoformat(body["expires_at"]),
        )

    def confirm(
        self, reservation_id: str, *, idempotency_key: str, actor: Actor = (None, None)
    ) -> None:
        """Make a reservation permanent. Confirming twice is harmless."""
        response = self.request(
            "POST",
            f"/internal/v1/reservations/{reservation_id}/confirm",
            headers={"Idempotency-Key": idempotency_key},
            actor=actor,
        )
        self._ok(response)

    def cancel(
        self, reservation_id: str, *, idempotency_key: str, actor: Actor = (None, None)
    ) -> int:
        """Undo a reservation whose caller rolled back (an `on_rollback` hook).

        Gives back only the units this reservation newly took; a holder that was already
        granted before the reservation keeps its unit. Returns how many were given back.
        """
        response = self.request(
            "POST",
            f"/internal/v1/reservations/{reservation_id}/cancel",
            headers={"Idempotency-Key": idempotency_key},
            actor=actor,
        )
        return int(self._ok(response)["released"])

    def release(
        self,
        pool: str,
        holders: list[str],
        *,
        idempotency_key: str,
        actor: Actor = (None, None),
    ) -> int:
        """Give units back; returns how many were held. Releasing nothing is fine."""
        response = self.request(
            "POST",
            "/internal/v1/releases",
            json={"pool": pool, "holders": list(holders)},
            headers={"Idempotency-Key": idempotency_key},
            actor=actor,
        )
        return int(self._ok(response)["released"])

    def report_inventory(
        self, owner: str, holders: dict[str, list[str]], taken_at: datetime
    ) -> None:
        """Tell licensing every holder `owner` has per pool it manages, as of `taken_at`."""
        response = self.request(
            "PUT",
            f"/internal/v1/inventory/{owner}",
            json={
                "holders": {pool: list(names) for pool, names in holders.items()},
                "taken_at": taken_at.isoformat(),
            },
        )
        self._ok(response)

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code < 400:
            return response.json() if response.content else {}
        body = _problem_body(response)
        if response.status_code in (502, 503, 504):
            raise ServiceUnavailable(
                f"the licensing service is unavailable ({response.status_code})",
                service=self.service_name,
            )
        raise problem_from_body(body)


def _problem_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "type" not in body:
        return {
            "type": TYPE_PREFIX + "bad-gateway",
            "title": "Bad gateway",
            "status": 502,
            "detail": f"the licensing service answered {response.status_code}",
            "service": "licensing",
        }
    return body


def problem_from_body(body: dict[str, Any]) -> ProblemError:
    """The exception a licensing problem document stands for."""
    slug = str(body.get("type", "")).removeprefix(TYPE_PREFIX)
    cls = _KNOWN.get(slug)
    if cls is None:
        return LicensingProblem(body)
    extra = {k: v for k, v in body.items() if k not in _STANDARD_MEMBERS}
    try:
        return cls(body.get("detail"), **extra)
    except TypeError:  # members missing from an older or newer licensing: keep its words
        return LicensingProblem(body)


__all__ = [
    "POOLS",
    "ClockSetBack",
    "IdempotencyKeyReused",
    "LicenseExpired",
    "LicensingClient",
    "LicensingProblem",
    "PoolExhausted",
    "Reservation",
    "ReservationConfirmed",
    "ReservationExpired",
    "ReservationNotFound",
]
