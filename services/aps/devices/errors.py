"""Device problems with stable types."""

from __future__ import annotations

from services.common.errors import Conflict, NotFound, Unprocessable


class DeviceNotFound(NotFound):
    slug = "device-not-found"


class DeviceExists(Conflict):
    slug = "device-exists"


class SlotTaken(Conflict):
    slug = "slot-taken"


class InvalidMacAddress(Unprocessable):
    slug = "invalid-mac"


class UnknownSlot(Unprocessable):
    slug = "unknown-slot"


class InvalidDevice(Unprocessable):
    slug = "invalid-device"
