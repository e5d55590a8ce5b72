"""Allocation routes: the internal reserve/confirm/release/inventory API and the public views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from services.common.deps import SessionDep
from services.common.errors import Forbidden, ProblemError, problem_responses
from services.common.metrics import metrics_for
from services.common.service_app import protected_router
from services.common.service_tokens import Caller, CallerDep
from services.licensing.allocations import idempotency
from services.licensing.allocations.batching import WriteBatcher
from services.licensing.allocations.models import CONFIRMED, RESERVED, LicAllocation
from services.licensing.allocations.reconcile import (
    release_expired,
    release_orphans,
    store_inventory,
)
from services.licensing.allocations.schemas import (
    AllocationPage,
    InventoryIn,
    PoolHolders,
    PoolName,
    ReconcileReport,
    ReleasedOut,
    ReservationOut,
)
from services.licensing.allocations.service import Request, cancel, confirm, release, reserve
from services.licensing.client import (
    POOLS,
    ClockSetBack,
    IdempotencyKeyReused,
    LicenseExpired,
    PoolExhausted,
    ReservationConfirmed,
    ReservationExpired,
    ReservationNotFound,
)
from services.licensing.clock import NowDep, from_db
from services.licensing.deps import (
    CallerOnLoop,
    LimitQuery,
    OffsetQuery,
    SettingsDep,
    caller_on_loop,
)
from services.licensing.openapi import problems
from services.licensing.pools.service import lock_all_pools
from services.licensing.system import record_time_seen
from services.licensing.transaction import EngineDep, in_transaction

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=idempotency.MAX_KEY_LENGTH,
        description="Same key and body → the same answer; same key, other body → 422",
    ),
]
OptionalIdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=idempotency.MAX_KEY_LENGTH),
]

ALLOCATION_REFUSALS = (
    PoolExhausted(pool="shared_devices", capacity=25, used=25, requested=1),
    LicenseExpired(
        "the license expired at 2027-11-26T08:00:00+00:00 and its grace period ended at "
        "2027-12-03T08:00:00+00:00; install a new license key"
    ),
    ClockSetBack("the system clock is 3600 s behind the latest time seen", behind_seconds=3600),
)
KEY_REUSED = IdempotencyKeyReused(
    "this Idempotency-Key was already used with a different request body"
)

internal = protected_router()
public = protected_router()
# Its routes are async and verify the service token on the event loop (no thread handoff).
batched = APIRouter(dependencies=[Depends(caller_on_loop)])


@batched.post(
    "/internal/v1/reservations",
    status_code=201,
    response_model=ReservationOut,
    summary="Reserve units for holders (all or nothing)",
    responses=problems(401, 409, 422, 503, examples=(*ALLOCATION_REFUSALS, KEY_REUSED)),
    tags=["internal"],
)
async def reserve_units(
    body: PoolHolders, key: IdempotencyKey, caller: CallerOnLoop, http: HttpRequest
) -> JSONResponse:
    # Well-formed requests usually come through fast_path.py instead, to the same effect.
    status, answer = await take_reservation(http.app, caller, body, key)
    return JSONResponse(answer, status_code=status)


async def take_reservation(
    app: Any, caller: Caller, body: PoolHolders, key: str
) -> tuple[int, dict[str, Any]]:
    """Queue one reservation for the next batch; its answer, or its refusal raised."""
    now = app.state.clock()
    request = Request(caller.service, caller.actor, now, app.state.settings)
    allocations = metrics_for(app).allocations
    batcher: WriteBatcher = app.state.write_batcher
    try:
        answer = await batcher.submit(
            operation="reserve",
            key=key,
            payload=body.model_dump(),
            now=now,
            status_code=201,
            pools=(body.pool,),
            work=lambda session, scope: reserve(session, scope, request, body.pool, body.holders),
        )
    except ProblemError as refused:
        allocations.labels(pool=body.pool, outcome=refused.slug).inc()
        raise
    allocations.labels(pool=body.pool, outcome="granted").inc()
    return answer


@internal.post(
    "/internal/v1/reservations/{reservation_id}/confirm",
    response_model=ReservationOut,
    summary="Confirm a reservation (idempotent)",
    responses=problems(
        401,
        404,
        409,
        422,
        503,
        examples=(
            ReservationNotFound("reservation 5f0c1e7a does not exist"),
            ReservationExpired(
                "reservation 5f0c1e7a expired and its units were taken meanwhile",
                pool="users",
                capacity=10,
                used=10,
                requested=1,
            ),
            *ALLOCATION_REFUSALS,
            KEY_REUSED,
        ),
    ),
    tags=["internal"],
)
def confirm_reservation(
    reservation_id: Annotated[str, Path(max_length=64)],
    engine: EngineDep,
    caller: CallerDep,
    now: NowDep,
    settings: SettingsDep,
    key: OptionalIdempotencyKey = None,
) -> JSONResponse:
    request = Request(caller.service, caller.actor, now, settings)
    return _idempotent(
        engine,
        operation="confirm",
        key=key,
        payload={"reservation_id": reservation_id},
        now=now,
        status_code=200,
        work=lambda session: confirm(session, request, reservation_id),
    )


@internal.post(
    "/internal/v1/reservations/{reservation_id}/cancel",
    response_model=ReleasedOut,
    summary="Cancel an unconfirmed reservation: give back only what it newly took",
    responses=problems(
        401,
        404,
        409,
        422,
        503,
        examples=(
            ReservationNotFound("reservation 5f0c1e7a does not exist"),
            ReservationConfirmed("reservation 5f0c1e7a is confirmed; release its holders instead"),
            KEY_REUSED,
        ),
    ),
    tags=["internal"],
)
def cancel_reservation(
    reservation_id: Annotated[str, Path(max_length=64)],
    engine: EngineDep,
    caller: CallerDep,
    now: NowDep,
    settings: SettingsDep,
    key: OptionalIdempotencyKey = None,
) -> JSONResponse:
    request = Request(caller.service, caller.actor, now, settings)
    return _idempotent(
        engine,
        operation="cancel",
        key=key,
        payload={"reservation_id": reservation_id},
        now=now,
        status_code=200,
        work=lambda session: cancel(session, request, reservation_id),
    )


@batched.post(
    "/internal/v1/releases",
    response_model=ReleasedOut,
    summary="Release the units holders hold (not holding is not an error)",
    responses=problems(401, 422, 503, examples=(KEY_REUSED,)),
    tags=["internal"],
)
async def release_units(
    body: PoolHolders,
    caller: CallerOnLoop,
    http: HttpRequest,
    key: OptionalIdempotencyKey = None,
) -> JSONResponse:
    now = http.app.state.clock()
    request = Request(caller.service, caller.actor, now, http.app.state.settings)
    batcher: WriteBatcher = http.app.state.write_batcher
    status, answer = await batcher.submit(
        operation="release",
        key=key,
        payload=body.model_dump(),
        now=now,
        status_code=200,
        pools=(body.pool,),
        work=lambda session, scope: {
            "released": release(session, scope, request, body.pool, body.holders)
        },
    )
    metrics_for(http.app).allocations.labels(pool=body.pool, outcome="released").inc()
    return JSONResponse(answer, status_code=status)


@internal.put(
    "/internal/v1/inventory/{owner}",
    status_code=204,
    summary="Report the owner service's complete list of holders per pool",
    responses=problem_responses(403, 422, 503),
    tags=["internal"],
)
def report_inventory(
    owner: Annotated[str, Path(max_length=32)],
    body: InventoryIn,
    engine: EngineDep,
    caller: CallerDep,
    now: NowDep,
) -> None:
    if owner != caller.service:
        raise Forbidden(f"the {caller.service} service may report only its own inventory")
    in_transaction(
        engine,
        lambda session: store_inventory(
            session, owner=owner, holders=body.holders, taken_at=body.taken_at, now=now
        ),
    )


@public.get(
    "/api/v1/license/allocations",
    response_model=AllocationPage,
    summary="Units in use (or all, with state=all), newest first",
    responses=problem_responses(401, 422),
    tags=["license"],
)
def list_allocations(
    session: SessionDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
    pool: PoolName | None = None,
    holder: Annotated[str | None, Query(max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    state: Annotated[str, Query(pattern="^(active|reserved|confirmed|all)$")] = "active",
) -> dict[str, Any]:
    filters: list[Any] = []
    if pool:
        filters.append(LicAllocation.pool == pool)
    if holder:
        filters.append(LicAllocation.holder == holder)
    if state == "active":
        filters.append(col(LicAllocation.active).is_(True))
    elif state in (RESERVED, CONFIRMED):
        filters.extend([LicAllocation.state == state, col(LicAllocation.active).is_(True)])
    rows = session.exec(
        select(LicAllocation)
        .where(*filters)
        .order_by(col(LicAllocation.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.exec(select(func.count()).select_from(LicAllocation).where(*filters)).one()
    return {
        "items": [_allocation(row) for row in rows],
        "total": int(total),
        "limit": limit,
        "offset": offset,
    }


@public.post(
    "/api/v1/license/reconcile",
    response_model=ReconcileReport,
    summary="Release expired reservations and allocations owners no longer have",
    responses=problem_responses(401, 503),
    tags=["license"],
)
def reconcile_now(
    engine: EngineDep, caller: CallerDep, now: NowDep, settings: SettingsDep
) -> dict[str, Any]:
    margin = timedelta(seconds=settings.license_inventory_margin_seconds)

    def work(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        lock_all_pools(session)  # in one order, before anything else: no deadlock
        record_time_seen(session, now)
        expired = release_expired(session, now=now, actor=caller.actor)
        orphans = release_orphans(session, now=now, margin=margin, actor=caller.actor)
        return expired, orphans

    expired, orphans = in_transaction(engine, work)
    released = dict.fromkeys(POOLS, 0)
    for entry in expired:
        released[entry["pool"]] += len(entry["holders"])
    for orphan in orphans:
        released[orphan["pool"]] += 1
    return {"expired_reservations": expired, "orphans": orphans, "released": released}


def _idempotent(
    engine: Engine,
    *,
    operation: str,
    key: str | None,
    payload: Any,
    now: datetime,
    status_code: int,
    work: Callable[[Session], dict[str, Any]],
) -> JSONResponse:
    def run(session: Session) -> tuple[int, dict[str, Any]]:
        if key is not None:
            replay = idempotency.claim(
                session, operation=operation, key=key, payload=payload, now=now
            )
            if replay is not None:
                return replay.status_code, replay.body
        body = work(session)
        if key is not None:
            idempotency.store(
                session, operation=operation, key=key, status_code=status_code, body=body
            )
        return status_code, body

    status, body = in_transaction(engine, run)
    return JSONResponse(body, status_code=status)


def _allocation(row: LicAllocation) -> dict[str, Any]:
    return {
        "pool": row.pool,
        "holder": row.holder,
        "state": row.state,
        "owner": row.owner,
        "reservation_id": row.reservation_id,
        "created_at": from_db(row.created_at).isoformat(),
        "confirmed_at": None if row.confirmed_at is None else from_db(row.confirmed_at).isoformat(),
    }
