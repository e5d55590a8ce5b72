"""`POST /api/v1/aps/devices/{id}/resync` and `POST /api/v1/aps/resync`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.aps.audit import record
from services.aps.deps import CatalogDep, ExtensionsDep, SettingsDep
from services.aps.devices.errors import DeviceNotFound
from services.aps.devices.service import device_id_from_path
from services.aps.resync.service import load_targets, resync
from services.common.db import unit_of_work
from services.common.errors import problem_responses
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep

router = protected_router()

REPORT_EXAMPLE: dict[str, Any] = {
    "revision": 5,
    "devices": [
        {
            "device": "001565aabbcc",
            "event": "check-sync;reboot=false",
            "status": "partial",
            "endpoints": {"101": "sent", "100_2": "not-registered"},
            "reason": None,
        }
    ],
}


class ResyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reboot": False}]})

    reboot: StrictBool = Field(
        default=False, description="Ask the phone to reboot, not only re-fetch"
    )


class ResyncReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_EXAMPLE]})

    revision: int = Field(description="The APS snapshot revision the devices should fetch")
    devices: list[dict[str, Any]]


def _audit(request: Request, actor: str, subject: str, report: list[dict[str, Any]]) -> None:
    with unit_of_work(request.app.state.engine) as session:
        record(
            session,
            actor,
            "aps.resync",
            subject,
            devices={r["device"]: r["status"] for r in report},
        )


@router.post(
    "/api/v1/aps/devices/{device_id}/resync",
    tags=["aps resync"],
    summary="Tell one device to re-fetch its files (SIP NOTIFY check-sync)",
    response_model=ResyncReport,
    responses=problem_responses(404, 422, 503),
)
def resync_device(
    device_id: str,
    request: Request,
    caller: CallerDep,
    catalog: CatalogDep,
    client: ExtensionsDep,
    body: ResyncRequest | None = None,
) -> ResyncReport:
    wanted = device_id_from_path(device_id)
    revision, targets = load_targets(request.app.state.engine, [wanted])
    if not targets:
        raise DeviceNotFound(f"no device {wanted}")
    report = resync(
        targets, catalog, client, reboot=bool(body and body.reboot), batch_size=1, pause_seconds=0
    )
    _audit(request, caller.actor, wanted, report)
    return ResyncReport(revision=revision, devices=report)


@router.post(
    "/api/v1/aps/resync",
    tags=["aps resync"],
    summary="Tell every device the latest APS commit changed to re-fetch, in batches",
    response_model=ResyncReport,
    responses=problem_responses(422, 503),
)
def resync_changed(
    request: Request,
    caller: CallerDep,
    catalog: CatalogDep,
    client: ExtensionsDep,
    settings: SettingsDep,
    body: ResyncRequest | None = None,
) -> ResyncReport:
    revision, targets = load_targets(request.app.state.engine, None)
    report = resync(
        targets,
        catalog,
        client,
        reboot=bool(body and body.reboot),
        batch_size=settings.resync_batch_size,
        pause_seconds=settings.resync_batch_pause_seconds,
    )
    _audit(request, caller.actor, f"revision {revision}", report)
    return ResyncReport(revision=revision, devices=report)
