"""`queues_shareline.conf`: one section per queue, persisted agents as static members.

A member is the agent's extension reached through `Local/<number>@shareline-agents/n`,
so a queue call rings every ringing slot of the agent, and its state follows the
extension's hint (`hint:<number>@shareline`), so `ringinuse=no` skips an agent busy on
any of its devices.
"""

from __future__ import annotations

from services.extensions.asterisk.dialplan_conf import CONTEXT
from services.extensions.asterisk.model import QueueSpec


def member_interface(number: str) -> str:
    """The queue interface of an agent, as `AddQueueMember` and `member =>` name it."""
    return f"Local/{number}@shareline-agents/n"


def state_interface(number: str) -> str:
    return f"hint:{number}@{CONTEXT}"


def render_queues(queues: tuple[QueueSpec, ...]) -> str:
    out = [
        "; ShareLine queues. Generated on every telephony commit and replaced whole;",
        "; do not edit.",
        "",
    ]
    for queue in queues:
        out += [
            f"[{queue.name}]",
            f"strategy={queue.strategy}",
            f"timeout={queue.agent_ring_seconds}",
            "ringinuse=no",
        ]
        # member => interface,penalty,membername,state_interface
        out += [f"member => {member_interface(a)},0,{a},{state_interface(a)}" for a in queue.agents]
        out.append("")
    return "\n".join(out)
