"""Checks a whole snapshot before anything is rendered, and puts it in render order.

Rendering is deterministic because this module fixes the order: extensions by number,
slots by index, queues by name, agents by number.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.extensions.asterisk.model import (
    ExtensionSpec,
    QueueSpec,
    RenderSettings,
    SlotSpec,
    TelephonySnapshot,
)
from services.extensions.asterisk.safety import (
    QUEUE_STRATEGIES,
    UnsafeConfigValue,
    check_auth_name,
    check_display_name,
    check_feature_code,
    check_identifier,
    check_number,
    check_password,
    check_queue_name,
    check_range,
)

MAX_SLOTS = 16
RING_MODES = frozenset({"ring", "distinctive", "silent"})
# Our own dial-plan contexts; the administrator's endpoint context must not shadow them.
INTERNAL_CONTEXTS = frozenset(
    {
        "shareline-targets",
        "shareline-add-slot",
        "shareline-agents",
        "shareline-alert",
        "shareline-agent-login",
        "shareline-agent-logout",
    }
)


@dataclass(frozen=True)
class CheckedSnapshot:
    extensions: tuple[ExtensionSpec, ...]
    queues: tuple[QueueSpec, ...]
    settings: RenderSettings


def _number_key(number: str) -> tuple[int, str]:
    return (len(number), number)


def _check_slot(slot: SlotSpec, number: str) -> None:
    check_range(slot.index, 1, MAX_SLOTS, f"slot index of {number}")
    check_auth_name(slot.auth_name, number, slot.index)
    if slot.ring_mode not in RING_MODES:
        raise UnsafeConfigValue(
            f"ring mode of slot {slot.auth_name} is not one of {sorted(RING_MODES)}"
        )
    if slot.ring_mode == "distinctive":
        if slot.tone is None:
            raise UnsafeConfigValue(f"slot {slot.auth_name} is distinctive but has no tone")
        check_range(slot.tone, 1, 5, f"tone of slot {slot.auth_name}")


def is_plain_slot(slot: SlotSpec, number: str, position: int) -> bool:
    """Whether `slot` passes `_check_slot` and is the extension's slot number `position`.

    The common case in a few comparisons (300,000 slots per commit): with the number
    already checked and the index 1-16, an auth name equal to the expected one also
    matches AUTH_NAME_RE. False sends the slot through the full checks.
    """
    if type(slot.index) is not int or slot.index != position or position > MAX_SLOTS:
        return False
    if slot.auth_name != (number if position == 1 else f"{number}_{position}"):
        return False
    mode, tone = slot.ring_mode, slot.tone
    if mode == "ring" or mode == "silent":
        return True
    return mode == "distinctive" and type(tone) is int and 1 <= tone <= 5


def _check_extension(ext: ExtensionSpec) -> ExtensionSpec:
    number = check_number(ext.number, "extension number")
    check_display_name(ext.name, number)
    check_password(ext.password, number)
    check_range(ext.ring_seconds, 1, 600, f"ring time of {number}")
    if not isinstance(ext.voicemail, bool):
        raise UnsafeConfigValue(f"voicemail flag of {number} must be true or false")
    if isinstance(ext.slots, tuple):
        for position, slot in enumerate(ext.slots, 1):
            if not is_plain_slot(slot, number, position):
                break
        else:
            return ext  # valid slots already in render order, as the database gives them
    for slot in ext.slots:
        _check_slot(slot, number)
    slots = tuple(sorted(ext.slots, key=lambda s: s.index))
    indexes = [s.index for s in slots]
    if indexes != list(range(1, len(slots) + 1)):
        raise UnsafeConfigValue(f"slots of {number} must be numbered 1..n without gaps")
    return ExtensionSpec(
        number=number,
        name=ext.name,
        password=ext.password,
        slots=slots,
        voicemail=ext.voicemail,
        ring_seconds=ext.ring_seconds,
        email=ext.email,
    )


def _check_queue(queue: QueueSpec, extension_numbers: set[str]) -> QueueSpec:
    name = check_queue_name(queue.name)
    check_number(queue.number, f"number of queue {name}")
    if queue.strategy not in QUEUE_STRATEGIES:
        raise UnsafeConfigValue(
            f"strategy of queue {name} is not one of {sorted(QUEUE_STRATEGIES)}"
        )
    check_range(queue.agent_ring_seconds, 1, 600, f"agent ring time of queue {name}")
    check_range(queue.max_wait_seconds, 1, 86400, f"maximum wait of queue {name}")
    for agent in queue.agents:
        check_number(agent, f"agent of queue {name}")
        if agent not in extension_numbers:
            raise UnsafeConfigValue(f"agent {agent} of queue {name} is not an extension")
    if len(set(queue.agents)) != len(queue.agents):
        raise UnsafeConfigValue(f"queue {name} lists an agent twice")
    return QueueSpec(
        name=name,
        number=queue.number,
        strategy=queue.strategy,
        agent_ring_seconds=queue.agent_ring_seconds,
        max_wait_seconds=queue.max_wait_seconds,
        agents=tuple(sorted(queue.agents, key=_number_key)),
    )


def _check_settings(settings: RenderSettings) -> None:
    check_identifier(settings.context, "endpoint context")
    check_identifier(settings.transport, "transport")
    if settings.context in INTERNAL_CONTEXTS:
        raise UnsafeConfigValue(f"endpoint context {settings.context} is reserved by ShareLine")
    check_feature_code(settings.agent_login_code, "agent login code")
    check_feature_code(settings.agent_logout_code, "agent logout code")
    if settings.agent_login_code == settings.agent_logout_code:
        raise UnsafeConfigValue("agent login and logout codes must differ")


def check_snapshot(snapshot: TelephonySnapshot) -> CheckedSnapshot:
    """Validate every value and return the snapshot in render order."""
    _check_settings(snapshot.settings)
    extensions = sorted(
        (_check_extension(e) for e in snapshot.extensions), key=lambda e: _number_key(e.number)
    )
    numbers = [e.number for e in extensions]
    if len(set(numbers)) != len(numbers):
        raise UnsafeConfigValue("two extensions have the same number")
    extension_numbers = set(numbers)
    queues = sorted(
        (_check_queue(q, extension_numbers) for q in snapshot.queues), key=lambda q: q.name
    )
    if len({q.name for q in queues}) != len(queues):
        raise UnsafeConfigValue("two queues have the same name")
    queue_numbers = [q.number for q in queues]
    if len(set(queue_numbers)) != len(queue_numbers) or extension_numbers & set(queue_numbers):
        raise UnsafeConfigValue("a queue number is already used by another queue or extension")
    return CheckedSnapshot(tuple(extensions), tuple(queues), snapshot.settings)
