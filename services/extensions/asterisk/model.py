"""What a telephony revision is made of: plain, immutable data the renderer reads.

The domain layer builds one `TelephonySnapshot` from the database in one pass; the
renderer turns it into files without touching the database again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RingMode = Literal["ring", "distinctive", "silent"]


@dataclass(frozen=True)
class SlotSpec:
    auth_name: str  # "100" for the primary, "100_2" … for secondaries
    index: int  # 1 for the primary
    ring_mode: RingMode = "ring"
    tone: int | None = None  # 1-5 when ring_mode == "distinctive"


@dataclass(frozen=True)
class ExtensionSpec:
    number: str
    name: str  # the caller-id name every slot presents
    password: str
    slots: tuple[SlotSpec, ...]
    voicemail: bool = False
    ring_seconds: int = 30
    email: str | None = None


@dataclass(frozen=True)
class QueueSpec:
    name: str  # lowercase identifier, e.g. "support"
    number: str  # dialable number of the queue, e.g. "600"
    strategy: str = "ringall"
    agent_ring_seconds: int = 15
    max_wait_seconds: int = 300
    agents: tuple[str, ...] = ()  # extension numbers logged in (persisted logins)


@dataclass(frozen=True)
class RenderSettings:
    context: str = "shareline"  # where the slots' calls start
    transport: str = "transport-udp"  # the administrator's PJSIP transport section name
    agent_login_code: str = "*45"  # dialled as *45<queue number>
    agent_logout_code: str = "*46"


@dataclass(frozen=True)
class TelephonySnapshot:
    extensions: tuple[ExtensionSpec, ...]
    queues: tuple[QueueSpec, ...] = ()
    settings: RenderSettings = field(default_factory=RenderSettings)
