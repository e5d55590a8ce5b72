"""`GET /api/v1/license`: what the administrator reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.licensing.keys.service import license_state
from services.licensing.keys.state import LicenseState, warnings
from services.licensing.pools.service import all_pools
from services.licensing.settings import Settings
from services.licensing.system import load_system


def license_status(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    state = license_state(session, settings, now)
    pools = all_pools(session)
    licensed = state.terms.licensed()
    refusal = state.allocation_refusal()
    return {
        "system_id": load_system(session).system_id,
        "license": _license(state),
        "pools": {
            name: {
                "licensed": licensed[name],
                "capacity": pool.capacity,
                "used": pool.used,
                "free": max(pool.capacity - pool.used, 0),
                "over_limit": pool.used > pool.capacity,
            }
            for name, pool in sorted(pools.items())
        },
        "allocations_allowed": refusal is None,
        "warnings": warnings(state, pools, settings),
        "checked_at": now.isoformat(),
    }


def _license(state: LicenseState) -> dict[str, Any]:
    terms = state.terms
    return {
        "trial": terms.trial,
        "customer": terms.customer,
        "kid": terms.kid,
        "license_id": terms.license_id,
        "issued_at": None if terms.issued_at is None else terms.issued_at.isoformat(),
        "not_before": terms.not_before.isoformat(),
        "expires_at": terms.expires_at.isoformat(),
        "grace_ends_at": state.grace_ends_at.isoformat(),
        "status": state.phase,
    }
