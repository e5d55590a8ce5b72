"""What the telephony commit's speed-ups must not change: the answer, the state, the GC.

A commit answers from the files it rendered instead of reading them back, writes its
state document with orjson, and pauses Python's cyclic garbage collector while it
works; none of it may show to a caller.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.extensions.telephony.collector import collector_paused
from services.extensions.telephony.state import canonical_json
from tests.extensions.test_telephony_commits import FILES, commit, create, files_of


async def test_a_commits_answer_describes_the_stored_files_byte_for_byte(api):
    await create(api, shared={"enabled": True, "max_devices": 3})
    await create(api, "101", no_answer={"voicemail": True, "ring_seconds": 25})
    first = await commit(api)
    await api.patch("/api/v1/extensions/100/slots/100_2", json={"ring_mode": "silent"})
    second = await commit(api)
    again = await commit(api, expected=200)
    for answer in (first, second, again):
        rev = answer["revision"]["revision"]
        stored = await files_of(api, rev)
        assert answer["revision"]["files"] == [
            {"name": n, "size": len(stored[n]), "sha256": hashlib.sha256(stored[n]).hexdigest()}
            for n in FILES
        ]
    assert again["revision"]["files"] == second["revision"]["files"] != first["revision"]["files"]


async def test_a_rollbacks_answer_describes_the_old_revisions_files(api):
    await create(api)
    first = await commit(api)
    await create(api, "101")
    await commit(api)
    response = await api.post("/api/v1/telephony/commits/1/rollback")
    assert response.status_code == 201, response.text
    assert response.json()["revision"]["files"] == first["revision"]["files"]


async def test_the_collector_runs_again_after_commits_that_succeed_or_fail(api):
    assert gc.isenabled()
    await create(api)
    await commit(api)
    assert gc.isenabled()
    bad = await api.post("/api/v1/telephony/commits/99/rollback")
    assert bad.status_code == 404
    assert gc.isenabled()


def test_the_collector_resumes_only_when_the_last_paused_section_ends():
    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        assert not gc.isenabled()
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's section is still running
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_resumes_after_an_exception():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("render failed")
    assert gc.isenabled()


async def test_the_state_lists_slots_by_index_whatever_order_the_rows_are_stored_in(api):
    from sqlalchemy import delete, insert

    from services.common.db import READ, unit_of_work
    from services.extensions.tables import Slot
    from services.extensions.telephony.state import build_state

    await create(api, shared={"enabled": True, "max_devices": 4})
    engine = api.app.state.engine
    with engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(Slot.__table__.select())]
        conn.execute(delete(Slot))
        for row in sorted(rows, key=lambda r: -r["slot_index"]):  # stored 4, 3, 2, 1
            conn.execute(insert(Slot).values(**row))
    with unit_of_work(engine, READ) as session:
        state = build_state(session, api.app.state.settings)
    slots = state["extensions"][0]["slots"]
    assert [s["index"] for s in slots] == [1, 2, 3, 4]
    assert [s["auth_name"] for s in slots] == ["100", "100_2", "100_3", "100_4"]


def _reference_json(state: object) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


STATE_TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', "\\", "\n\r\t\b\f", "\x00\x1f\x7f", "\u2028\u2029", "é李😀", "</script>"]
)
STATE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | STATE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STATE_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(STATE_VALUES)
def test_the_state_document_is_the_text_json_dumps_writes(state: object) -> None:
    assert canonical_json(state) == _reference_json(state)  # type: ignore[arg-type]


def test_what_the_fast_encoder_refuses_is_still_written_like_json_dumps() -> None:
    for odd in ({"name": "a\ud800b"}, {"big": 2**70}):
        assert canonical_json(odd) == _reference_json(odd)
