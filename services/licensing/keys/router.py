"""`/api/v1/license`: read the status, install a key, read the history of keys."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlmodel import Session

from services.common.deps import SessionDep
from services.common.errors import Unprocessable, problem_responses
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep
from services.licensing.clock import NowDep
from services.licensing.deps import LimitQuery, OffsetQuery, SettingsDep
from services.licensing.keys import verify
from services.licensing.keys.schemas import HistoryPage, InstallKey, LicenseStatus
from services.licensing.keys.service import history, install
from services.licensing.keys.status import license_status
from services.licensing.openapi import problems
from services.licensing.transaction import EngineDep, in_transaction

KEY_REFUSALS = (
    Unprocessable("body.key: Field required"),
    verify.MalformedKey("the license key is not a compact JWS"),
    verify.WrongAlgorithm("license keys must be signed with EdDSA (Ed25519)"),
    verify.UnknownKeyId("the key was signed with a vendor key this system does not trust"),
    verify.BadSignature("the license key's signature does not verify"),
    verify.WrongIssuer("the key was not issued by 'shareline-license-vendor'"),
    verify.WrongSystem(
        "the key is for system 'SL-AAAA-BBBB-CCCC-DDDD', not for this system "
        "(SL-7K2M-Q9XD-A4TR-PL3C)",
        system_id="SL-7K2M-Q9XD-A4TR-PL3C",
    ),
    verify.KeyExpired("the key expired at 2026-01-01T00:00:00+00:00"),
    verify.KeyNotYetValid("the key is valid from 2027-01-01T00:00:00+00:00"),
    verify.LicenseKeyRejected("the key's 'users' must be a whole number of units"),
)

router = protected_router()


@router.get(
    "/api/v1/license",
    response_model=LicenseStatus,
    summary="System id, license in force, pool usage and warnings",
    responses=problem_responses(401),
    tags=["license"],
)
def read_license(session: SessionDep, now: NowDep, settings: SettingsDep) -> dict[str, Any]:
    return license_status(session, settings, now)


@router.put(
    "/api/v1/license",
    response_model=LicenseStatus,
    summary="Install a license key; a refused key leaves the one in force",
    responses=problems(401, 422, 503, examples=KEY_REFUSALS),
    tags=["license"],
)
def install_license(
    body: InstallKey,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    now: NowDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        install(
            session,
            token=body.key.strip(),
            trusted=request.app.state.trusted_keys,
            settings=settings,
            now=now,
            actor=caller.actor,
        )
        return license_status(session, settings, now)

    return in_transaction(engine, work)


@router.get(
    "/api/v1/license/history",
    response_model=HistoryPage,
    summary="Every key ever installed, newest first",
    responses=problem_responses(401, 422),
    tags=["license"],
)
def license_history(
    session: SessionDep, limit: LimitQuery = 50, offset: OffsetQuery = 0
) -> dict[str, Any]:
    items, total = history(session, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
