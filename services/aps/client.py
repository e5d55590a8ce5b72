"""The aps service's published client: the one module other services may import.

It reads what APS provisions — the vendors and models, and one device's lines and
fetch status — over the same public routes the gateway forwards, with a service token.

Errors: an unreachable APS raises `ServiceUnavailable` (503, member `service="aps"`);
a device that does not exist gives `None`; any other problem APS answers is raised as
`ApsProblem`, which re-renders exactly as APS wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import RemoteProblem
from services.common.http import ServiceClient


@dataclass(frozen=True)
class VendorInfo:
    name: str
    title: str
    models: tuple[str, ...]
    max_lines: int
    check_sync: dict[str, str]


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    vendor: str
    model: str
    lines: dict[int, str]  # line number -> auth name
    rendered_revision: int | None
    last_fetch_revision: int | None
    current: bool  # the device last fetched the files of its latest render


class ApsProblem(RemoteProblem):
    """A problem APS answered, re-rendered verbatim."""


class ApsClient(ServiceClient):
    """Vendors and devices as APS sees them."""

    problem_class = ApsProblem

    service_name = "aps"

    def vendors(self) -> list[VendorInfo]:
        body = self.answer(self.request("GET", "/api/v1/aps/vendors"))
        return [
            VendorInfo(
                v["name"], v["title"], tuple(v["models"]), v["max_lines"], dict(v["check_sync"])
            )
            for v in body
        ]

    def device(self, device_id: str) -> DeviceInfo | None:
        response = self.request("GET", f"/api/v1/aps/devices/{device_id}")
        if response.status_code == 404:
            return None
        body = self.answer(response)
        fetch = body.get("last_fetch") or {}
        return DeviceInfo(
            id=body["id"],
            vendor=body["vendor"],
            model=body["model"],
            lines={line["line"]: line["auth_name"] for line in body["lines"]},
            rendered_revision=body["rendered_revision"],
            last_fetch_revision=fetch.get("revision"),
            current=bool(fetch.get("current")),
        )


__all__ = ["ApsClient", "ApsProblem", "DeviceInfo", "VendorInfo"]
