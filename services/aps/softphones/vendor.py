"""The `softphone` vendor: a device with one line and no files to fetch.

It has the shape of every other vendor (`VendorLike`), so an APS commit plans and
records a softphone like any phone — which slot its line carries at that revision —
while the account itself reaches the app only through a one-time link.
"""

from __future__ import annotations

from typing import Any

from services.aps.vendors.catalog import Model, RenderedFile

NAME = "softphone"
MODELS = ("linphone", "generic")


class SoftphoneVendor:
    """Softphone apps: Linphone (remote-provisioning XML) or any app reading our JSON."""

    name = NAME
    version = "softphone-1"
    models = tuple(Model(m) for m in MODELS)
    max_lines = 1
    max_keys = 0
    # Apps re-register on their own; there is no SIP NOTIFY that makes them re-fetch.
    check_sync: dict[str, str] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "name": NAME,
            "title": "Softphone app (one-time QR link)",
            "format": "linphone-xml / json",
            "models": list(MODELS),
            "device_files": [],
            "common_files": [],
            "max_lines": self.max_lines,
            "max_keys": self.max_keys,
            "check_sync": self.check_sync,
            "ring_tones": {str(tone): "" for tone in range(1, 6)},
            "transports": {"udp": "udp", "tcp": "tcp", "tls": "tls"},
            "parameters": [],
            "template_version": self.version,
        }

    def render_device(self, context: dict[str, Any]) -> list[RenderedFile]:
        return []

    def render_common(self, context: dict[str, Any]) -> list[RenderedFile]:
        return []

    def mac_in_filename(self, filename: str) -> str | None:
        return None
