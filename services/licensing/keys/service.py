"""The license in force, installing a new key, and the history of keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func
from sqlmodel import Session, col, select

from services.licensing.audit.service import record
from services.licensing.clock import from_db, maybe_from_db, to_db
from services.licensing.keys.models import LicKey
from services.licensing.keys.state import LicenseState, evaluate
from services.licensing.keys.terms import LicenseTerms
from services.licensing.keys.verify import verify_license_key
from services.licensing.pools.service import set_capacities
from services.licensing.settings import Settings
from services.licensing.system import LicSystem, load_system, max_seen, record_time_seen


def trial_terms(system: LicSystem, settings: Settings) -> LicenseTerms:
    started = from_db(system.first_started_at)
    return LicenseTerms(
        trial=True,
        customer=None,
        kid=None,
        license_id=None,
        issued_at=None,
        not_before=started,
        expires_at=started + timedelta(days=settings.license_trial_days),
        users=settings.license_trial_users,
        shared_devices=settings.license_trial_shared_devices,
        softphones=settings.license_trial_softphones,
    )


def current_terms(session: Session, system: LicSystem, settings: Settings) -> LicenseTerms:
    latest = session.exec(select(LicKey).order_by(col(LicKey.id).desc()).limit(1)).first()
    if latest is None:
        return trial_terms(system, settings)
    return LicenseTerms(
        trial=False,
        customer=latest.customer,
        kid=latest.kid,
        license_id=latest.license_id,
        issued_at=maybe_from_db(latest.issued_at),
        not_before=from_db(latest.not_before),
        expires_at=from_db(latest.expires_at),
        users=latest.users,
        shared_devices=latest.shared_devices,
        softphones=latest.softphones,
    )


def license_state(session: Session, settings: Settings, now: datetime) -> LicenseState:
    system = load_system(session)
    return evaluate(current_terms(session, system, settings), now, max_seen(system), settings)


def install(
    session: Session,
    *,
    token: str,
    trusted: dict[str, Ed25519PublicKey],
    settings: Settings,
    now: datetime,
    actor: str,
) -> LicenseTerms:
    """Verify and install a key; a refused key raises and leaves everything as it was."""
    system = load_system(session)
    terms = verify_license_key(
        token,
        trusted=trusted,
        issuer=settings.license_issuer,
        system_id=system.system_id,
        now=max(now, max_seen(system)),
    )
    session.add(
        LicKey(
            kid=terms.kid or "",
            license_id=terms.license_id or "",
            customer=terms.customer or "",
            issued_at=None if terms.issued_at is None else to_db(terms.issued_at),
            not_before=to_db(terms.not_before),
            expires_at=to_db(terms.expires_at),
            users=terms.users,
            shared_devices=terms.shared_devices,
            softphones=terms.softphones,
            token=token,
            installed_at=to_db(now),
            installed_by=actor,
        )
    )
    set_capacities(session, terms.capacities())
    record_time_seen(session, now)
    record(
        session,
        at=now,
        actor=actor,
        action="license-installed",
        summary=f"installed license {terms.license_id} for {terms.customer} "
        f"(users {terms.users}, shared devices {terms.shared_devices}, "
        f"softphones {terms.softphones}, expires {terms.expires_at.isoformat()})",
        license_id=terms.license_id,
        kid=terms.kid,
        units=terms.licensed(),
    )
    return terms


def history(session: Session, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    rows = session.exec(
        select(LicKey).order_by(col(LicKey.id).desc()).offset(offset).limit(limit)
    ).all()
    total = session.exec(select(func.count()).select_from(LicKey)).one()
    return [_history_entry(row) for row in rows], int(total)


def _history_entry(row: LicKey) -> dict[str, Any]:
    issued = maybe_from_db(row.issued_at)
    return {
        "license_id": row.license_id,
        "kid": row.kid,
        "customer": row.customer,
        "issued_at": None if issued is None else issued.isoformat(),
        "not_before": from_db(row.not_before).isoformat(),
        "expires_at": from_db(row.expires_at).isoformat(),
        "users": row.users,
        "shared_devices": row.shared_devices,
        "softphones": row.softphones,
        "installed_at": from_db(row.installed_at).isoformat(),
        "installed_by": row.installed_by,
    }
