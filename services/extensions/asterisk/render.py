"""Turn a `TelephonySnapshot` into the files of one telephony revision.

    render_revision(snapshot) -> {file name: bytes}

The file names are a contract (docs/asterisk.md): the administrator's `pjsip.conf`,
`extensions.conf` and `queues.conf` `#include` them from `<config_dir>/live/`.
Output is deterministic: the same snapshot always gives byte-identical files (sorted,
no timestamps). Every value is checked first; an unsafe one raises `UnsafeConfigValue`
(422) and nothing is rendered.
"""

from __future__ import annotations

from services.extensions.asterisk.dialplan_conf import render_dialplan
from services.extensions.asterisk.model import TelephonySnapshot
from services.extensions.asterisk.pjsip_conf import render_pjsip
from services.extensions.asterisk.queues_conf import render_queues
from services.extensions.asterisk.safety import UnsafeConfigValue
from services.extensions.asterisk.validate import check_snapshot

PJSIP_FILE = "pjsip_shareline.conf"
DIALPLAN_FILE = "extensions_shareline.conf"
QUEUES_FILE = "queues_shareline.conf"
FILE_NAMES = (PJSIP_FILE, DIALPLAN_FILE, QUEUES_FILE)

__all__ = [
    "DIALPLAN_FILE",
    "FILE_NAMES",
    "PJSIP_FILE",
    "QUEUES_FILE",
    "UnsafeConfigValue",
    "expected_endpoints",
    "render_revision",
]


def render_revision(snapshot: TelephonySnapshot) -> dict[str, bytes]:
    """Render every file of a revision; raises `UnsafeConfigValue` on any unsafe value."""
    checked = check_snapshot(snapshot)
    texts = {
        PJSIP_FILE: render_pjsip(checked.extensions, checked.settings),
        DIALPLAN_FILE: render_dialplan(checked.extensions, checked.queues, checked.settings),
        QUEUES_FILE: render_queues(checked.queues),
    }
    return {name: text.encode("utf-8") for name, text in texts.items()}


def expected_endpoints(snapshot: TelephonySnapshot) -> set[str]:
    """The PJSIP endpoints Asterisk must report after this revision is loaded."""
    return {slot.auth_name for ext in snapshot.extensions for slot in ext.slots}
