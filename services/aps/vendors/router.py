"""`GET /api/v1/aps/vendors`: what APS can provision."""

from __future__ import annotations

from typing import Any

from services.aps.deps import CatalogDep
from services.common.service_app import protected_router
from services.common.service_tokens import CallerDep

router = protected_router()


@router.get(
    "/api/v1/aps/vendors",
    tags=["aps vendors"],
    summary="Supported vendors and models, their files, parameters and check-sync events",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": [
                        {
                            "name": "yealink",
                            "title": "Yealink T4x/T5x (firmware V8x)",
                            "format": "ini",
                            "models": ["T46U"],
                            "device_files": ["{mac}.boot", "{mac}.cfg"],
                            "common_files": ["y000000000000.boot", "y000000000108.cfg"],
                            "max_lines": 16,
                            "max_keys": 30,
                            "check_sync": {
                                "resync": "check-sync;reboot=false",
                                "reboot": "check-sync;reboot=true",
                            },
                        }
                    ]
                }
            }
        }
    },
)
def list_vendors(catalog: CatalogDep, _caller: CallerDep) -> list[dict[str, Any]]:
    return [vendor.describe() for vendor in sorted(catalog, key=lambda v: v.name)]
