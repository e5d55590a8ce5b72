"""The license in force judged at a moment: valid, in grace or expired; clock trouble.

Expiry is judged against the latest time ever seen (not the wall clock alone), so
setting the clock back does not revive an expired license. A clock behind that latest
time by more than the tolerance is reported and stops new allocations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.licensing.client import ClockSetBack, LicenseExpired
from services.licensing.keys.terms import LicenseTerms
from services.licensing.pools.models import LicPool
from services.licensing.settings import Settings

VALID, GRACE, EXPIRED = "valid", "grace", "expired"


@dataclass(frozen=True)
class LicenseState:
    terms: LicenseTerms
    now: datetime
    effective_now: datetime
    clock_behind: timedelta
    grace_ends_at: datetime
    clock_tolerance: timedelta

    @property
    def phase(self) -> str:
        if self.effective_now < self.terms.expires_at:
            return VALID
        return GRACE if self.effective_now < self.grace_ends_at else EXPIRED

    @property
    def clock_set_back(self) -> bool:
        return self.clock_behind > self.clock_tolerance

    def allocation_refusal(self) -> Exception | None:
        """Why new allocations are refused right now, if they are."""
        if self.clock_set_back:
            return ClockSetBack(
                f"the system clock is {int(self.clock_behind.total_seconds())} s behind the "
                "latest time seen; new allocations wait until it is corrected",
                behind_seconds=int(self.clock_behind.total_seconds()),
            )
        if self.phase == EXPIRED:
            what = "trial" if self.terms.trial else "license"
            return LicenseExpired(
                f"the {what} expired at {self.terms.expires_at.isoformat()} and its grace "
                f"period ended at {self.grace_ends_at.isoformat()}; install a new license key",
                expires_at=self.terms.expires_at.isoformat(),
                grace_ends_at=self.grace_ends_at.isoformat(),
            )
        return None

    def check_may_allocate(self) -> None:
        refusal = self.allocation_refusal()
        if refusal is not None:
            raise refusal


def evaluate(
    terms: LicenseTerms, now: datetime, max_seen: datetime, settings: Settings
) -> LicenseState:
    return LicenseState(
        terms=terms,
        now=now,
        effective_now=max(now, max_seen),
        clock_behind=max(max_seen - now, timedelta(0)),
        grace_ends_at=terms.expires_at + timedelta(days=settings.license_grace_days),
        clock_tolerance=timedelta(seconds=settings.license_clock_tolerance_seconds),
    )


def warnings(
    state: LicenseState, pools: dict[str, LicPool], settings: Settings
) -> list[dict[str, Any]]:
    """What an administrator should act on, most urgent first."""
    found: list[dict[str, Any]] = []
    if state.clock_set_back:
        found.append(
            _warning(
                "clock-set-back",
                f"the system clock is {int(state.clock_behind.total_seconds())} s behind the "
                "latest time seen; new allocations are refused until it is corrected",
            )
        )
    found.extend(_expiry_warnings(state, settings))
    for name, pool in sorted(pools.items()):
        if pool.used > pool.capacity:
            found.append(
                _warning(
                    "over-limit",
                    f"the {name} pool is over its limit: {pool.used} in use, capacity "
                    f"{pool.capacity}; new allocations are refused until usage is back under",
                    pool=name,
                )
            )
    if state.terms.trial:
        found.append(
            _warning(
                "trial",
                "running on the built-in trial license; quote the system id to buy a key",
            )
        )
    return found


def _expiry_warnings(state: LicenseState, settings: Settings) -> list[dict[str, Any]]:
    expires = state.terms.expires_at.isoformat()
    if state.phase == EXPIRED:
        return [_warning("expired", f"expired at {expires}; new allocations are refused")]
    if state.phase == GRACE:
        return [
            _warning(
                "grace",
                f"expired at {expires}; new allocations stop at "
                f"{state.grace_ends_at.isoformat()} (grace period)",
            )
        ]
    soon = timedelta(days=settings.license_expiry_warning_days)
    if state.terms.expires_at - state.effective_now <= soon:
        return [_warning("expiring-soon", f"expires at {expires}")]
    return []


def _warning(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}
