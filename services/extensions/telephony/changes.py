"""The pending diff: the state the next commit would render against the committed one."""

from __future__ import annotations

from typing import Any

from services.extensions.telephony.state import State

# Shown by name only: the diff says a password changed, never what it is.
SECRET_FIELDS = frozenset({"password"})


def diff_states(committed: State | None, pending: State) -> dict[str, Any]:
    base = committed or {"settings": None, "extensions": [], "queues": []}
    extensions = _diff_keyed(base["extensions"], pending["extensions"], "number", {"slots"})
    slots = _diff_keyed(_all_slots(base), _all_slots(pending), "auth_name", set())
    queues = _diff_keyed(base["queues"], pending["queues"], "name", set())
    settings_changed = committed is not None and base["settings"] != pending["settings"]
    return {
        "changed": settings_changed or _any(extensions) or _any(slots) or _any(queues),
        "extensions": extensions,
        "slots": slots,
        "queues": queues,
        "settings_changed": settings_changed,
    }


def _all_slots(state: State) -> list[dict[str, Any]]:
    return [slot for ext in state["extensions"] for slot in ext["slots"]]


def _diff_keyed(
    old: list[dict[str, Any]], new: list[dict[str, Any]], key: str, ignore: set[str]
) -> dict[str, list[Any]]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    changed = []
    for name in after.keys() & before.keys():
        fields = sorted(
            f
            for f in after[name].keys() | before[name].keys()
            if f not in ignore and after[name].get(f) != before[name].get(f)
        )
        if fields:
            changed.append({key: name, "fields": fields})
    return {
        "added": [k for k in after if k not in before],
        "removed": [k for k in before if k not in after],
        "changed": sorted(changed, key=lambda c: (len(c[key]), c[key])),
    }


def _any(section: dict[str, list[Any]]) -> bool:
    return any(section.values())
