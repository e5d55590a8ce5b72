"""Slot digests decide which devices a commit re-renders: they must not drift.

A changed digest would re-render (and resync) every phone once, although nothing a
phone sees changed. The reference formula is the one every stored render state was
computed with.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.aps.telephony import read_committed
from services.extensions.client import (
    CommittedExtension,
    CommittedSlot,
    CommittedTelephony,
    SipServer,
)

NAMES = ["Alice", 'O\'Neil "Q" <x>', "Zoë \\ back", "", "名前", "tab\\t"]


def _reference(slot: CommittedSlot, ext: CommittedExtension, sip: SipServer) -> str:
    material = (
        slot.auth_name,
        ext.number,
        ext.name,
        ext.password,
        slot.ring_mode,
        slot.tone,
        sip.host,
        int(sip.port),
        sip.transport,
    )
    return hashlib.blake2b(repr(material).encode(), digest_size=12).hexdigest()


def _document() -> CommittedTelephony:
    extensions = tuple(
        CommittedExtension(
            number=str(100 + i),
            name=name,
            full_name=name,
            email=None,
            password=f"P'w\"{i}\\x",
            slots=(
                CommittedSlot(str(100 + i), 1, "ring", None),
                CommittedSlot(f"{100 + i}_2", 2, "distinctive", 1 + i % 5),
                CommittedSlot(f"{100 + i}_3", 3, "silent", None),
            ),
        )
        for i, name in enumerate(NAMES)
    )
    return CommittedTelephony(
        revision=7,
        content_hash="abc",
        committed_at=datetime(2026, 11, 26),
        sip=SipServer(host="pbx.example.com", port=5061, transport="tls"),
        extensions=extensions,
    )


def _as_dict(document: CommittedTelephony) -> dict:
    return {
        "revision": document.revision,
        "content_hash": document.content_hash,
        "sip": {
            "host": document.sip.host,
            "port": document.sip.port,
            "transport": document.sip.transport,
        },
        "extensions": [
            {
                "number": e.number,
                "name": e.name,
                "password": e.password,
                "slots": [
                    {
                        "auth_name": s.auth_name,
                        "index": s.index,
                        "ring_mode": s.ring_mode,
                        "tone": s.tone,
                    }
                    for s in e.slots
                ],
            }
            for e in document.extensions
        ],
    }


def test_slot_digests_are_the_ones_stored_render_states_were_computed_with() -> None:
    document = _document()
    expected = {
        slot.auth_name: _reference(slot, ext, document.sip)
        for ext in document.extensions
        for slot in ext.slots
    }
    for source in (document, _as_dict(document)):
        telephony = read_committed(source)
        assert {a: s.digest for a, s in telephony.slots.items()} == expected
        assert telephony.numbers == {e.number for e in document.extensions}
        alice = telephony.slots["100_2"]
        assert (alice.number, alice.index, alice.name, alice.tone) == ("100", 2, "Alice", 1)
