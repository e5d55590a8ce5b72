"""What the rendered Asterisk files say, read back with the strict parser.

Golden files: `SHARELINE_UPDATE_GOLDEN=1 pytest tests/extensions/asterisk/test_render.py`
rewrites tests/extensions/asterisk/golden/; review the diff by eye before committing.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from services.extensions.asterisk.model import QueueSpec, RenderSettings, TelephonySnapshot
from services.extensions.asterisk.render import (
    DIALPLAN_FILE,
    FILE_NAMES,
    PJSIP_FILE,
    QUEUES_FILE,
    UnsafeConfigValue,
    expected_endpoints,
    render_revision,
)
from tests.extensions.asterisk.dialplan_sim import Call
from tests.extensions.asterisk.snapshots import (
    PASSWORD_100,
    SUPPORT,
    USE_CASE_2,
    USE_CASE_3,
    USE_CASES,
    alice,
    bob,
    slots,
)
from tests.support.asterisk_conf import (
    Dialplan,
    Section,
    by_type,
    parse_callerid,
    parse_config,
    parse_dialplan,
    pjsip_duplicates,
)

GOLDEN = Path(__file__).parent / "golden"


def pjsip(snapshot: TelephonySnapshot) -> list[Section]:
    text = render_revision(snapshot)[PJSIP_FILE].decode()
    return parse_config(text, allow_duplicate=pjsip_duplicates)


def dialplan(snapshot: TelephonySnapshot) -> Dialplan:
    return parse_dialplan(parse_config(render_revision(snapshot)[DIALPLAN_FILE].decode()))


def call(snapshot: TelephonySnapshot, registered: set[str], **kw: object) -> Call:
    endpoints = by_type(pjsip(snapshot), "endpoint")
    return Call(dialplan(snapshot), endpoints, registered, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", sorted(USE_CASES))
def test_use_cases_match_golden_files(case: str) -> None:
    files = render_revision(USE_CASES[case])
    assert sorted(files) == sorted(FILE_NAMES)
    for name, data in files.items():
        path = GOLDEN / case / name
        if os.environ.get("SHARELINE_UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        assert data == path.read_bytes(), f"{case}/{name} differs from the golden file"


def test_same_snapshot_in_any_order_gives_identical_bytes() -> None:
    shuffled = TelephonySnapshot(
        extensions=(
            bob(),
            dataclasses.replace(alice(3), slots=tuple(reversed(alice(3).slots))),
        ),
        queues=(dataclasses.replace(SUPPORT, agents=("101", "100")),),
    )
    ordered = TelephonySnapshot(
        extensions=(alice(3), bob()),
        queues=(dataclasses.replace(SUPPORT, agents=("100", "101")),),
    )
    assert render_revision(shuffled) == render_revision(ordered)
    assert render_revision(ordered) == render_revision(ordered)


def test_every_slot_gets_exactly_endpoint_auth_and_aor() -> None:
    sections = pjsip(USE_CASE_3)
    slots = {"100", "100_2", "100_3", "101"}
    assert set(by_type(sections, "endpoint")) == slots
    assert set(by_type(sections, "aor")) == slots
    assert set(by_type(sections, "auth")) == {f"auth-{s}" for s in slots}
    assert len(sections) == 3 * len(slots)
    assert expected_endpoints(USE_CASE_3) == slots


def test_endpoint_settings_parse_back_exactly() -> None:
    sections = pjsip(USE_CASE_1_WITH_TRANSPORT)
    endpoint = by_type(sections, "endpoint")["100_2"]
    assert endpoint.keys() == [
        "type", "transport", "context", "disallow", "allow", "auth", "aors", "callerid",
        "send_pai", "trust_id_inbound", "trust_id_outbound", "direct_media", "rtp_symmetric",
        "force_rport", "rewrite_contact", "identify_by", "set_var", "set_var",
    ]  # fmt: skip
    assert endpoint.get("transport") == "transport-tls"
    assert endpoint.get("context") == "from-phones"
    assert endpoint.get("allow") == "ulaw,alaw,g722"
    assert endpoint.get("auth") == "auth-100_2"
    assert endpoint.get("aors") == "100_2"
    assert endpoint.get("direct_media") == "no"
    assert endpoint.getall("set_var") == ["SHARELINE_EXT=100", "SHARELINE_SLOT=100_2"]
    auth = by_type(sections, "auth")["auth-100_2"]
    assert auth.items == [
        ("type", "auth"),
        ("auth_type", "userpass"),
        ("username", "100_2"),
        ("password", PASSWORD_100),
    ]
    aor = by_type(sections, "aor")["100_2"]
    assert aor.get("max_contacts") == "1"
    assert aor.get("remove_existing") == "yes"
    assert aor.get("qualify_frequency") == "60"
    assert aor.get("mailboxes") == "100@default"


USE_CASE_1_WITH_TRANSPORT = TelephonySnapshot(
    extensions=(alice(2),),
    settings=RenderSettings(context="from-phones", transport="transport-tls"),
)


def test_every_slot_presents_the_extension_caller_id() -> None:
    endpoints = by_type(pjsip(USE_CASE_3), "endpoint")
    for name in ("100", "100_2", "100_3"):
        assert parse_callerid(endpoints[name].get("callerid") or "") == ("Alice Martin", "100")
    assert parse_callerid(endpoints["101"].get("callerid") or "") == ("Bob Keller", "101")


@pytest.mark.parametrize("name", ["Ann <Desk>", "Émile Zoë", "A>B<C", "O'Neil-Smith Jr."])
def test_caller_id_names_with_brackets_parse_back_exactly(name: str) -> None:
    snapshot = TelephonySnapshot(extensions=(dataclasses.replace(alice(2), name=name),))
    for endpoint in by_type(pjsip(snapshot), "endpoint").values():
        assert parse_callerid(endpoint.get("callerid") or "") == (name, "100")


def test_hint_covers_every_slot_including_silent_ones() -> None:
    snapshot = TelephonySnapshot(extensions=(alice(3, **{"100_2": ("silent", None)}),))
    assert dialplan(snapshot).hints == {("shareline", "100"): "PJSIP/100&PJSIP/100_2&PJSIP/100_3"}


def test_no_slot_name_is_dialable_anywhere() -> None:
    plan = dialplan(USE_CASE_3)
    every_exten = {s.exten for s in plan.steps} | {e for _, e in plan.hints}
    assert not [e for e in every_exten if "_" in e]  # no 100_2 and no pattern at all
    assert plan.extensions("shareline") == {"100", "101", "600", "*45600", "*46600"}
    text = render_revision(USE_CASE_3)[DIALPLAN_FILE].decode()
    assert "${EXTEN}" not in text


def test_calling_100_rings_every_registered_ringing_slot_at_once() -> None:
    result = call(USE_CASE_3, registered={"100", "100_2", "100_3"}).run("shareline", "100")
    assert result.apps("Dial") == ["PJSIP/100&PJSIP/100_2&PJSIP/100_3,25,cb(shareline-alert^s^1)"]


def test_unregistered_slots_are_skipped_without_failing_the_call() -> None:
    result = call(USE_CASE_3, registered={"100_3"}).run("shareline", "100")
    assert [leg.endpoint for leg in result.legs] == ["100_3"]


def test_silent_slot_is_never_rung() -> None:
    snapshot = TelephonySnapshot(extensions=(alice(3, **{"100_2": ("silent", None)}),))
    result = call(snapshot, registered={"100", "100_2", "100_3"}).run("shareline", "100")
    assert [leg.endpoint for leg in result.legs] == ["100", "100_3"]


def test_other_legs_are_cancelled_as_answered_elsewhere() -> None:
    (dial,) = call(USE_CASE_3, registered={"100"}).run("shareline", "100").apps("Dial")
    options = dial.split(",")[2]
    assert options.startswith("c")


def test_distinctive_tone_is_sent_on_its_own_leg_only() -> None:
    result = call(USE_CASE_3, registered={"100", "100_2", "100_3"}).run("shareline", "100")
    headers = {leg.endpoint: leg.headers for leg in result.legs}
    assert headers == {
        "100": [],
        "100_2": [],
        "100_3": [("Alert-Info", "<http://127.0.0.1>;info=ring2")],
    }


def test_no_answer_goes_to_voicemail_where_enabled() -> None:
    result = call(USE_CASE_3, registered={"100"}).run("shareline", "100")
    assert result.apps("VoiceMail") == ["100@default,u"]
    busy = call(USE_CASE_3, registered={"100"}, dial_status="BUSY").run("shareline", "100")
    assert busy.apps("VoiceMail") == ["100@default,b"]
    answered = call(USE_CASE_3, registered={"100"}, dial_status="ANSWER").run("shareline", "100")
    assert answered.apps("VoiceMail") == []


def test_no_answer_without_voicemail_hangs_up_cleanly() -> None:
    result = call(USE_CASE_2, registered=set()).run("shareline", "101")
    assert result.apps("Dial") == []
    assert result.apps("Hangup") == ["19"]


def test_use_case_2_calling_101_rings_only_101() -> None:
    result = call(USE_CASE_2, registered={"100", "100_2", "101"}).run("shareline", "101")
    assert [leg.endpoint for leg in result.legs] == ["101"]


def test_queue_calls_ring_the_agent_slots_without_voicemail() -> None:
    result = call(USE_CASE_3, registered={"100", "100_3"}).run("shareline-agents", "100")
    assert [leg.endpoint for leg in result.legs] == ["100", "100_3"]
    assert result.apps("VoiceMail") == []


def test_agent_login_from_the_primary_slot_adds_the_member() -> None:
    result = call(USE_CASE_3, registered={"100"}, endpoint="100").run("shareline", "*45600")
    assert result.apps("AddQueueMember") == [
        "support,Local/100@shareline-agents/n,,,100,hint:100@shareline"
    ]
    assert result.apps("Playback") == ["agent-loginok"]


@pytest.mark.parametrize("slot", ["100_2", "100_3"])
def test_agent_login_from_a_secondary_slot_is_refused_audibly(slot: str) -> None:
    result = call(USE_CASE_3, registered={slot}, endpoint=slot).run("shareline", "*45600")
    assert result.apps("AddQueueMember") == []
    assert result.apps("Playback") == ["feature-not-avail-line"]
    logout = call(USE_CASE_3, registered={slot}, endpoint=slot).run("shareline", "*46600")
    assert logout.apps("RemoveQueueMember") == []
    assert logout.apps("Playback") == ["feature-not-avail-line"]


def test_agent_logout_from_the_primary_slot_removes_the_member() -> None:
    result = call(USE_CASE_3, registered={"100"}, endpoint="100").run("shareline", "*46600")
    assert result.apps("RemoveQueueMember") == ["support,Local/100@shareline-agents/n"]
    assert result.apps("Playback") == ["agent-loggedoff"]


def test_queue_file_lists_persisted_agents_as_members() -> None:
    text = render_revision(USE_CASE_3)[QUEUES_FILE].decode()
    (queue,) = parse_config(text)
    assert queue.name == "support"
    assert queue.items == [
        ("strategy", "ringall"),
        ("timeout", "15"),
        ("ringinuse", "no"),
        ("member", "Local/100@shareline-agents/n,0,100,hint:100@shareline"),
    ]


def test_queue_number_answers_and_queues_with_the_max_wait() -> None:
    result = call(USE_CASE_3, registered=set()).run("shareline", "600")
    assert result.apps("Queue") == ["support,C,,,300"]


INJECTIONS = [
    "Evil\n[evil]",
    "Evil\r",
    "Evil\u2028x",
    "Evil\x00",
    "Ev;il",
    "Evil ;--",
    "#include x",
    "#exec x",
    "${EXTEN}",
    "$[1+1]",
    "a&b",
    "a,b",
    "a(b",
    "a)b",
    "a/b",
    "a@b",
    'say "hi"',
    "back\\slash",
    "bidi\u202eoverride",
    "zero\u200bwidth",
    "x" * 10_000,
    "",
    " padded",
]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_unsafe_names_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render_revision(TelephonySnapshot(extensions=(dataclasses.replace(alice(1), name=bad),)))


@pytest.mark.parametrize(
    "bad",
    [
        "100_2",
        "1",
        "123456789",
        "1\n00",
        "\uff11\uff10\uff10",
        "\u0661\u0660\u0660",
        "10;0",
        "_100",
        "100 ",
    ],
)
def test_unsafe_numbers_are_refused(bad: str) -> None:
    ext = dataclasses.replace(alice(1), number=bad)
    with pytest.raises(UnsafeConfigValue):
        render_revision(TelephonySnapshot(extensions=(ext,)))


@pytest.mark.parametrize(
    "bad",
    [PASSWORD_100 + ";x", PASSWORD_100 + "\n[evil]", "short1", PASSWORD_100 + " x",
     PASSWORD_100 + "${X}", PASSWORD_100 + "#", PASSWORD_100 + "\\"],
)  # fmt: skip
def test_unsafe_passwords_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(UnsafeConfigValue) as caught:
        render_revision(TelephonySnapshot((dataclasses.replace(alice(1), password=bad),)))
    body = str(caught.value.to_problem())
    assert PASSWORD_100 not in body and bad not in body
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "snapshot",
    [
        TelephonySnapshot((alice(1),), (dataclasses.replace(SUPPORT, name="general"),)),
        TelephonySnapshot((alice(1),), (dataclasses.replace(SUPPORT, name="sup]port"),)),
        TelephonySnapshot((alice(1),), (dataclasses.replace(SUPPORT, number="100"),)),
        TelephonySnapshot((alice(1),), (dataclasses.replace(SUPPORT, agents=("999",)),)),
        TelephonySnapshot((alice(1),), (dataclasses.replace(SUPPORT, strategy="evil\n"),)),
        TelephonySnapshot((alice(1),), (SUPPORT, QueueSpec("other", "600"))),
        TelephonySnapshot((alice(1), alice(2))),
        TelephonySnapshot((alice(1),), settings=RenderSettings(transport="udp;x")),
        TelephonySnapshot((alice(1),), settings=RenderSettings(context="shareline-agents")),
        TelephonySnapshot((alice(1),), settings=RenderSettings(agent_login_code="*4&5")),
        TelephonySnapshot((alice(3, **{"100_2": ("distinctive", 9)}),)),
        TelephonySnapshot((alice(3, **{"100_2": ("distinctive", None)}),)),
        TelephonySnapshot((dataclasses.replace(alice(3), slots=alice(3).slots[::2]),)),
        TelephonySnapshot((dataclasses.replace(alice(1), ring_seconds=0),)),
    ],
)
def test_inconsistent_or_unsafe_snapshots_are_refused(snapshot: TelephonySnapshot) -> None:
    with pytest.raises(UnsafeConfigValue):
        render_revision(snapshot)


def test_slot_with_a_foreign_auth_name_is_refused() -> None:
    ext = alice(2)
    wrong = dataclasses.replace(ext.slots[1], auth_name="101_2")
    with pytest.raises(UnsafeConfigValue):
        render_revision(TelephonySnapshot((dataclasses.replace(ext, slots=(ext.slots[0], wrong)),)))


# Checked against the file list of asterisk-core-sounds-en 1.6.1 (Debian bookworm).
CORE_SOUNDS = {
    "agent-loginok",
    "agent-loggedoff",
    "agent-alreadyon",
    "feature-not-avail-line",
    "cannot-complete-as-dialed",
}


def test_every_prompt_played_is_a_core_sound() -> None:
    plan = dialplan(USE_CASE_3)
    played = {s.args for s in plan.steps if s.app == "Playback"}
    assert played <= CORE_SOUNDS


def test_failed_login_is_audible_and_changes_nothing_else() -> None:
    result = call(
        USE_CASE_3, registered={"100"}, endpoint="100", queue_status={"add": "NOSUCHQUEUE"}
    ).run("shareline", "*45600")
    assert result.apps("Playback") == ["cannot-complete-as-dialed"]
    already = call(
        USE_CASE_3, registered={"100"}, endpoint="100", queue_status={"add": "MEMBERALREADY"}
    ).run("shareline", "*45600")
    assert already.apps("Playback") == ["agent-alreadyon"]


ENDPOINT_KEYS = [
    "type", "transport", "context", "disallow", "allow", "auth", "aors", "callerid",
    "send_pai", "trust_id_inbound", "trust_id_outbound", "direct_media", "rtp_symmetric",
    "force_rport", "rewrite_contact", "identify_by", "set_var", "set_var",
]  # fmt: skip


def test_every_section_of_every_use_case_has_exactly_the_intended_keys() -> None:
    for snapshot in USE_CASES.values():
        for section in pjsip(snapshot):
            kind = section.get("type")
            if kind == "endpoint":
                ring = any(v.startswith("SHARELINE_RING=") for v in section.getall("set_var"))
                assert section.keys() == ENDPOINT_KEYS + (["set_var"] if ring else [])
                assert section.get("aors") == section.name
                assert section.get("auth") == f"auth-{section.name}"
            elif kind == "auth":
                assert section.keys() == ["type", "auth_type", "username", "password"]
                assert f"auth-{section.get('username')}" == section.name
            else:
                assert kind == "aor"
                base = ["type", "max_contacts", "remove_existing", "qualify_frequency"]
                assert section.keys() in (base, [*base, "mailboxes"])


def test_ten_thousand_extensions_with_three_slots_render_quickly() -> None:
    extensions = tuple(
        dataclasses.replace(
            alice(3, **{f"{n}_3": ("distinctive", 2)}),
            number=str(n),
            slots=slots(str(n), 3, **{f"{n}_3": ("distinctive", 2)}),
        )
        for n in range(10_000_000, 10_010_000)
    )
    started = time.perf_counter()
    files = render_revision(TelephonySnapshot(extensions))
    elapsed = time.perf_counter() - started
    # About 0.2 s on the development machine; the bound leaves room for a busy CI host.
    assert elapsed < 2.0, f"rendering took {elapsed:.2f} s"
    assert files[PJSIP_FILE].count(b"\ntype=endpoint\n") == 30_000
