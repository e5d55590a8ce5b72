"""Hand-built snapshots for DESIGN.md's three use cases, shared by the render tests."""

from __future__ import annotations

from services.extensions.asterisk.model import (
    ExtensionSpec,
    QueueSpec,
    SlotSpec,
    TelephonySnapshot,
)

PASSWORD_100 = "Qm7vT2xKp9LrW4nZa8Hc3Ys"
PASSWORD_101 = "Bd4kN8wPq2ZtR6mXy9Lf5Jh"


def slots(number: str, count: int, **modes: tuple[str, int | None]) -> tuple[SlotSpec, ...]:
    """Slots 1..count of `number`; `modes={"100_2": ("distinctive", 3)}` overrides one."""
    out = []
    for index in range(1, count + 1):
        name = number if index == 1 else f"{number}_{index}"
        mode, tone = modes.get(name, ("ring", None))
        out.append(SlotSpec(name, index, mode, tone))  # type: ignore[arg-type]
    return tuple(out)


def alice(count: int, **modes: tuple[str, int | None]) -> ExtensionSpec:
    return ExtensionSpec(
        number="100",
        name="Alice Martin",
        password=PASSWORD_100,
        slots=slots("100", count, **modes),
        voicemail=True,
        ring_seconds=25,
        email="alice@example.com",
    )


def bob() -> ExtensionSpec:
    return ExtensionSpec("101", "Bob Keller", PASSWORD_101, slots("101", 1))


SUPPORT = QueueSpec(name="support", number="600", agents=("100",))

# 1. A softphone joins a desk phone: 100 on the desk phone, 100_2 on a softphone.
USE_CASE_1 = TelephonySnapshot(extensions=(alice(2),))
# 2. A colleague's phone backs up 100: 101's phone carries 100_2 on line 2.
USE_CASE_2 = TelephonySnapshot(extensions=(alice(2), bob()))
# 3. Three devices on one extension; the DECT handset rings with tone 2; 100 is an agent.
USE_CASE_3 = TelephonySnapshot(
    extensions=(alice(3, **{"100_3": ("distinctive", 2)}), bob()),
    queues=(SUPPORT,),
)

USE_CASES = {"uc1": USE_CASE_1, "uc2": USE_CASE_2, "uc3": USE_CASE_3}
