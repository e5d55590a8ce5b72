"""The committed telephony state as APS reads it, taken from the extensions service.

`read_committed` turns `ExtensionsClient.committed()` into plain lookups: slots by
auth name and extensions by number, with a content hash per slot so a commit can tell
which devices' inputs changed without comparing whole documents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlotInfo:
    auth_name: str
    number: str
    index: int
    name: str
    password: str
    ring_mode: str
    tone: int | None
    digest: str  # changes whenever anything a device file shows for this slot changes


@dataclass(frozen=True)
class Telephony:
    revision: int | None
    content_hash: str | None
    sip_host: str
    sip_port: int
    sip_transport: str
    slots: dict[str, SlotInfo]
    numbers: frozenset[str]


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def read_committed(document: Any) -> Telephony:
    """Plain lookups from the extensions client's committed telephony document."""
    sip = _get(document, "sip")
    host, port, transport = _get(sip, "host"), int(_get(sip, "port")), _get(sip, "transport")
    slots: dict[str, SlotInfo] = {}
    numbers: set[str] = set()
    for extension in _get(document, "extensions"):
        number, name = _get(extension, "number"), _get(extension, "name")
        password = _get(extension, "password")
        numbers.add(number)
        for slot in _get(extension, "slots"):
            auth_name = _get(slot, "auth_name")
            ring_mode, tone = _get(slot, "ring_mode"), _get(slot, "tone")
            digest = hashlib.blake2b(
                repr(
                    (auth_name, number, name, password, ring_mode, tone, host, port, transport)
                ).encode(),
                digest_size=12,
            ).hexdigest()
            slots[auth_name] = SlotInfo(
                auth_name,
                number,
                int(_get(slot, "index")),
                name,
                password,
                ring_mode,
                tone,
                digest,
            )
    return Telephony(
        revision=_get(document, "revision"),
        content_hash=_get(document, "content_hash"),
        sip_host=host,
        sip_port=port,
        sip_transport=transport,
        slots=slots,
        numbers=frozenset(numbers),
    )
