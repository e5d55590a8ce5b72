"""Problems specific to extensions and their slots."""

from __future__ import annotations

from services.common.errors import Conflict, NotFound, Unprocessable


class ExtensionNotFound(NotFound):
    slug, title = "extension-not-found", "Extension not found"


class NumberTaken(Conflict):
    slug, title = "number-taken", "Number already in use"


class MaxDevicesOverCap(Unprocessable):
    slug, title = "max-devices-over-cap", "Too many devices"


class SlotInUse(Conflict):
    """A slot that would be removed is registered from a device; `force=true` overrides."""

    slug, title = "slot-in-use", "Slot in use"


class SharedSettingsInvalid(Unprocessable):
    slug, title = "shared-settings-invalid", "Invalid shared settings"
