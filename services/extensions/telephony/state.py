"""The state a telephony commit renders, built from the database in one pass.

A revision stores this state as canonical JSON (sorted keys, fixed order of every list),
so "what changed since the last commit" is a comparison of two such documents, and the
committed state APS reads never depends on edits made after the commit.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.extensions.asterisk.model import (
    ExtensionSpec,
    QueueSpec,
    RenderSettings,
    SlotSpec,
    TelephonySnapshot,
)
from services.extensions.asterisk.render import render_revision
from services.extensions.settings import Settings
from services.extensions.tables import Extension, Queue, QueueAgent, Slot

State = dict[str, Any]
EXTENSIONS: Table = Extension.__table__  # type: ignore[attr-defined]
SLOTS: Table = Slot.__table__  # type: ignore[attr-defined]


def number_key(number: str) -> tuple[int, str]:
    return (len(number), number)


def build_state(session: Session, settings: Settings) -> State:
    """Four queries, whatever the number of extensions."""
    # Plain rows, not ORM objects: building 100,000 extensions and 300,000 slots as
    # instances took a third of a commit's time.
    session.flush()
    connection = session.connection()
    extensions = connection.execute(sa_select(EXTENSIONS)).all()
    slots = connection.execute(sa_select(SLOTS).order_by(SLOTS.c.slot_index)).all()
    queues = session.exec(select(Queue).order_by(col(Queue.name))).all()
    agents = session.exec(select(QueueAgent)).all()
    slots_of: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        slots_of.setdefault(slot.extension_number, []).append(
            {
                "auth_name": slot.auth_name,
                "index": slot.slot_index,
                "ring_mode": slot.ring_mode,
                "tone": slot.tone,
            }
        )
    agents_of: dict[str, list[str]] = {}
    for agent in agents:
        agents_of.setdefault(agent.queue_name, []).append(agent.extension_number)
    return {
        "settings": render_settings_state(settings),
        "extensions": [
            _extension_state(e, slots_of.get(e.number, []))
            for e in sorted(extensions, key=lambda e: number_key(e.number))
        ],
        "queues": [_queue_state(q, agents_of.get(q.name, [])) for q in queues],
    }


def render_settings_state(settings: Settings) -> dict[str, str]:
    return {
        "context": RenderSettings().context,
        "transport": settings.pjsip_transport_name,
        "agent_login_code": settings.agent_login_code,
        "agent_logout_code": settings.agent_logout_code,
    }


def _extension_state(ext: Any, slots: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "number": ext.number,
        "name": ext.name,
        "full_name": ext.full_name,
        "email": ext.email,
        "password": ext.password,
        "voicemail": ext.voicemail,
        "ring_seconds": ext.ring_seconds,
        "slots": slots,
    }


def _queue_state(queue: Queue, agents: list[str]) -> dict[str, Any]:
    return {
        "name": queue.name,
        "number": queue.number,
        "strategy": queue.strategy,
        "agent_ring_seconds": queue.agent_ring_seconds,
        "max_wait_seconds": queue.max_wait_seconds,
        "agents": sorted(agents, key=number_key),
    }


def canonical_json(state: State) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_of(state: State) -> TelephonySnapshot:
    """The renderer's immutable input for a state."""
    return TelephonySnapshot(
        extensions=tuple(
            ExtensionSpec(
                number=e["number"],
                name=e["name"],
                password=e["password"],
                slots=tuple(
                    SlotSpec(s["auth_name"], s["index"], s["ring_mode"], s["tone"])
                    for s in e["slots"]
                ),
                voicemail=e["voicemail"],
                ring_seconds=e["ring_seconds"],
                email=e["email"],
            )
            for e in state["extensions"]
        ),
        queues=tuple(
            QueueSpec(
                name=q["name"],
                number=q["number"],
                strategy=q["strategy"],
                agent_ring_seconds=q["agent_ring_seconds"],
                max_wait_seconds=q["max_wait_seconds"],
                agents=tuple(q["agents"]),
            )
            for q in state["queues"]
        ),
        settings=RenderSettings(**state["settings"]),
    )


def empty_revision_files(settings: Settings) -> dict[str, bytes]:
    """The files of a configuration with no extension and no queue (revision 0)."""
    empty: State = {"settings": render_settings_state(settings), "extensions": [], "queues": []}
    return render_revision(snapshot_of(empty))
