"""Device ids: a hardware phone is its MAC address, a softphone a generated id."""

from __future__ import annotations

import re
import secrets

_SEPARATED = (
    re.compile(
        r"^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):"
        r"([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$"
    ),
    re.compile(
        r"^([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-"
        r"([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})$"
    ),
    re.compile(r"^([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$"),
    re.compile(r"^([0-9a-fA-F]{12})$"),
)
SOFTPHONE_ID = re.compile(r"^sp-[0-9a-f]{20}$")


class InvalidMac(ValueError):
    """The text is not the MAC address of a single real device."""


def parse_mac(text: str) -> str:
    """The canonical form (12 lowercase hex digits) of a unicast, non-zero MAC.

    Accepts `AA:BB:CC:DD:EE:FF`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` and `AABBCCDDEEFF`.
    """
    for pattern in _SEPARATED:
        match = pattern.fullmatch(text)
        if match:
            return check_unicast("".join(match.groups()).lower())
    raise InvalidMac("a MAC address is 12 hex digits, e.g. 00:15:65:aa:bb:cc")


def check_unicast(mac: str) -> str:
    if mac == "000000000000":
        raise InvalidMac("the all-zero MAC address names no device")
    if mac == "ffffffffffff":
        raise InvalidMac("the broadcast MAC address names no device")
    if int(mac[:2], 16) & 1:
        raise InvalidMac("a multicast MAC address names no device")
    return mac


def is_mac(device_id: str) -> bool:
    return len(device_id) == 12 and all(c in "0123456789abcdef" for c in device_id)


def new_softphone_id() -> str:
    """A fresh id for a softphone device (it has no MAC)."""
    return "sp-" + secrets.token_hex(10)
