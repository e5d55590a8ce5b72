"""A snapshot mixing every rendering case, for the golden files in golden/mixed/.

The golden files were rendered by the line-by-line renderer that preceded the current
one (commit 64818cb); the current renderer must reproduce them byte for byte.
"""

from __future__ import annotations

from services.extensions.asterisk.model import (
    ExtensionSpec,
    QueueSpec,
    RenderSettings,
    SlotSpec,
    TelephonySnapshot,
)

_NAMES = (
    "Alice Martin",
    "Zoë Ångström",
    "O'Brien-Smith <Desk>",
    "Jürgen Müller",
    "李小龍",
    "e\u0301clair",  # a combining acute accent: not ASCII, still a letter and a mark
    "a.b-c_d+e!f?g:h*i=j~k",
    "Room 12",
)
_NUMBERS = ("10", "100", "0100", "101", "2000", "99999999", "12345", "555", "556", "42")


def _slots(number: str, count: int, variant: int) -> tuple[SlotSpec, ...]:
    out = []
    for index in range(1, count + 1):
        name = number if index == 1 else f"{number}_{index}"
        kind = (variant + index) % 4
        if kind == 1 and index > 1:
            out.append(SlotSpec(name, index, "distinctive", 1 + (variant + index) % 5))
        elif kind == 2 and index > 1:
            out.append(SlotSpec(name, index, "silent"))
        else:
            out.append(SlotSpec(name, index))
    # Given out of order on purpose: the renderer sorts slots by index.
    return tuple(reversed(out)) if variant % 3 == 0 else tuple(out)


def mixed_snapshot() -> TelephonySnapshot:
    extensions = tuple(
        ExtensionSpec(
            number=number,
            name=_NAMES[i % len(_NAMES)],
            password=f"Pw{i:02d}abcdefghijKLMNOP.~+=!*%^-",
            slots=_slots(number, 1 + i % 4, i),
            voicemail=i % 2 == 0,
            ring_seconds=(5, 30, 600, 1)[i % 4],
            email=f"user{i}@example.com" if i % 3 else None,
        )
        for i, number in enumerate(_NUMBERS)
    )
    queues = (
        QueueSpec("support", "600", "rrmemory", 20, 900, agents=("2000", "100", "0100")),
        QueueSpec("a-team_2", "601", agents=()),
        QueueSpec("sales", "602", "linear", 1, 1, agents=("42",)),
    )
    settings = RenderSettings("from-internal", "transport-tls", "*7", "*8")
    return TelephonySnapshot(extensions, queues, settings)
