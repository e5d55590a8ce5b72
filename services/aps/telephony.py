"""The committed telephony state as APS reads it, taken from the extensions service.

`read_committed` turns `ExtensionsClient.committed()` into plain lookups: slots by
auth name and extensions by number, with a content hash per slot so a commit can tell
which devices' inputs changed without comparing whole documents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)  # slots: 30,000 of them are built per document
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


def _getter(obj: Any) -> Any:
    """How to read fields of this part of the document: a dict's keys or attributes."""
    return dict.__getitem__ if isinstance(obj, dict) else getattr


def read_committed(document: Any) -> Telephony:
    """Plain lookups from the extensions client's committed telephony document."""
    get = _getter(document)
    sip = get(document, "sip")
    get_sip = _getter(sip)
    host, port = get_sip(sip, "host"), int(get_sip(sip, "port"))
    transport = get_sip(sip, "transport")
    # Each slot's digest is blake2b of the repr of (auth_name, number, name, password,
    # ring_mode, tone, host, port, transport); the repr is assembled from parts shared
    # by the whole document and by each extension (30,000 slots at 10,000 extensions).
    server = f", {host!r}, {port!r}, {transport!r})"
    slots: dict[str, SlotInfo] = {}
    numbers: set[str] = set()
    for extension in get(document, "extensions"):
        get_ext = _getter(extension)
        number, name = get_ext(extension, "number"), get_ext(extension, "name")
        password = get_ext(extension, "password")
        numbers.add(number)
        shared = f", {number!r}, {name!r}, {password!r}, "
        for slot in get_ext(extension, "slots"):
            get_slot = _getter(slot)
            auth_name = get_slot(slot, "auth_name")
            ring_mode, tone = get_slot(slot, "ring_mode"), get_slot(slot, "tone")
            material = f"({auth_name!r}{shared}{ring_mode!r}, {tone!r}{server}"
            digest = hashlib.blake2b(material.encode(), digest_size=12).hexdigest()
            slots[auth_name] = SlotInfo(
                auth_name,
                number,
                int(get_slot(slot, "index")),
                name,
                password,
                ring_mode,
                tone,
                digest,
            )
    return Telephony(
        revision=get(document, "revision"),
        content_hash=get(document, "content_hash"),
        sip_host=host,
        sip_port=port,
        sip_transport=transport,
        slots=slots,
        numbers=frozenset(numbers),
    )
