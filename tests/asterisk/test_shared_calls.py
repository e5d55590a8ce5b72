"""Shared extensions on a real Asterisk, with sipp phones (see conftest.py for the world).

Each test registers the phones it needs and unregisters them afterwards; revision 2
(`provisioned`) holds 100 (slots 100, 100_2, 100_3, no voicemail), 101 (voicemail),
200 (plain), 300 (300_2 distinctive tone 2, 300_3 silent) and queue 600.
"""

from __future__ import annotations

import time

import pytest

from tests.asterisk.conftest import World, ok
from tests.asterisk.sipp import Phone

pytestmark = pytest.mark.asterisk

ANSWERED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


def invites(phone: Phone) -> list:
    return phone.received("INVITE")


def wait_for(predicate, timeout: float = 10.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def test_calling_100_rings_every_slot_and_cancels_the_others_answered_elsewhere(
    provisioned: World,
) -> None:
    w = provisioned
    with w.registered("100", ("100_2", 1500), "100_3") as phones:
        call = w.call("200", "100", hold_ms=1000)
        assert call.wait() == 0, call.run.folder
        assert call.final_status() == 200
        for name, phone in phones.items():
            assert len(invites(phone)) == 1, f"{name} got {len(invites(phone))} INVITEs"
        for name in ("100", "100_3"):
            assert wait_for(lambda n=name: phones[n].received("CANCEL")), f"{name}: no CANCEL"
            cancel = phones[name].received("CANCEL")[0]
            assert cancel.header("reason") == ANSWERED_ELSEWHERE, cancel.headers
        assert phones["100_2"].received("CANCEL") == []
        assert phones["100_2"].received("BYE")


def test_an_unregistered_slot_is_skipped_without_an_error(provisioned: World) -> None:
    w = provisioned
    with w.registered("100", "100_3") as phones:
        mark = w.pbx.log_mark()
        call = w.call("200", "100")
        assert call.wait() == 0
        # Nobody answers: 100 has no voicemail, so the caller gets a clean failure.
        assert call.final_status() in (480, 486, 408, 487), call.final_status()
        for phone in phones.values():
            assert len(invites(phone)) == 1
        log = w.pbx.log_since(mark)
        assert "100_2" not in "\n".join(w.pbx.errors(log)), w.pbx.errors(log)
        assert w.pbx.errors(log) == []


def test_with_no_slot_registered_the_caller_gets_a_clean_failure(provisioned: World) -> None:
    w = provisioned
    mark = w.pbx.log_mark()
    started = time.monotonic()
    call = w.call("200", "100")
    assert call.wait() == 0
    assert call.final_status() == 480
    assert time.monotonic() - started < 5  # no ringing into the void for ring_seconds
    assert w.pbx.errors(w.pbx.log_since(mark)) == []


def test_with_no_slot_registered_voicemail_answers_where_enabled(provisioned: World) -> None:
    w = provisioned
    mark = w.pbx.log_mark()
    call = w.call("200", "101", hold_ms=1500)
    assert call.wait() == 0
    assert call.final_status() == 200
    log = w.pbx.log_since(mark)
    assert '"101@default,u")' in log and "VoiceMail(" in log, log[-2000:]


def test_a_secondary_slot_is_not_dialable(provisioned: World) -> None:
    w = provisioned
    with w.registered("100", "100_2", "100_3") as phones:
        call = w.call("200", "100_2")
        call.wait()
        assert call.final_status() == 404
        time.sleep(0.5)
        assert all(invites(p) == [] for p in phones.values())


def test_a_call_from_a_secondary_slot_shows_the_extension(provisioned: World) -> None:
    w = provisioned
    with w.registered(("200", 200)) as phones:
        call = w.call("100_2", "200", hold_ms=500)
        assert call.wait() == 0
        assert call.final_status() == 200
        invite = invites(phones["200"])[0]
        sender = invite.header("from") or ""
        assert sender.startswith('"Alice Martin" <sip:100@'), sender
        pai = invite.header("p-asserted-identity") or ""
        assert pai.startswith('"Alice Martin" <sip:100@'), pai


def test_distinctive_slot_gets_alert_info_and_silent_slot_no_invite(provisioned: World) -> None:
    w = provisioned
    with w.registered("300", "300_2", "300_3") as phones:
        call = w.call("200", "300")
        call.wait()
        assert [len(invites(phones[n])) for n in ("300", "300_2", "300_3")] == [1, 1, 0]
        assert invites(phones["300_2"])[0].header("alert-info") == ("<http://127.0.0.1>;info=ring2")
        assert invites(phones["300"])[0].header("alert-info") is None


def test_hint_of_100_is_in_use_while_100_3_is_in_a_call(provisioned: World) -> None:
    w = provisioned
    assert w.pbx.extension_state("100")[0] != 1
    with w.registered(("200", 100)):
        call = w.call("100_3", "200", hold_ms=4000)
        assert wait_for(lambda: w.pbx.extension_state("100")[0] == 1), w.pbx.extension_state("100")
        assert call.wait() == 0
        assert wait_for(
            lambda: w.pbx.extension_state("100")[0] == 0 or w.pbx.extension_state("100")[0] == 4
        )


def members(w: World) -> list[str]:
    queues = w.pbx.observer().queue_status()
    return [m.interface for m in queues["support"].members] if "support" in queues else []


def test_agent_login_by_feature_code_only_from_the_primary_slot(provisioned: World) -> None:
    w = provisioned
    assert members(w) == []
    refused = w.call("100_2", "*45600", hold_ms=500)
    refused.wait()
    assert members(w) == []
    accepted = w.call("100", "*45600", hold_ms=500)
    accepted.wait()
    assert wait_for(lambda: members(w) == ["Local/100@shareline-agents/n"]), members(w)
    out = w.call("100", "*46600", hold_ms=500)
    out.wait()
    assert wait_for(lambda: members(w) == []), members(w)


def test_resync_notifies_only_registered_endpoints(provisioned: World) -> None:
    w = provisioned
    with w.registered("100", "200") as phones:
        report = ok(w.admin.post("/api/v1/aps/resync", json={"reboot": False}))
        results = {d["device"]: d for d in report["devices"]}
        assert results["001565170001"]["endpoints"] == {"100": "sent"}
        assert results["0004f2170002"]["endpoints"] == {"200": "sent", "100_2": "not-registered"}
        assert results["0004f2170002"]["status"] == "partial"
        assert results["0c3800170003"]["endpoints"] == {"100_3": "not-registered"}
        for name in ("100", "200"):
            assert wait_for(lambda n=name: phones[n].received("NOTIFY")), name
            event = phones[name].received("NOTIFY")[0].header("event") or ""
            assert event.startswith("check-sync"), event


def test_removing_a_slot_reloads_asterisk_and_a_rollback_restores_it(provisioned: World) -> None:
    w = provisioned
    ok(
        w.admin.patch(
            "/api/v1/extensions/100", params={"force": "true"}, json={"shared": {"max_devices": 2}}
        )
    )
    removed = w.commit()
    assert removed["revision"]["deploy"]["status"] == "deployed", removed
    assert "100_3" not in w.pbx.observer().endpoints()
    late = w.phone("100_3")
    assert late.wait_registered() is False
    late.stop()
    assert "100_3" not in w.contacts()
    assert {"100", "100_2"} <= w.pbx.observer().endpoints()

    previous = removed["revision"]["revision"] - 1
    back = ok(w.admin.post(f"/api/v1/telephony/commits/{previous}/rollback"), 201)
    assert back["revision"]["deploy"]["status"] == "deployed", back
    assert back["revision"]["source_revision"] == previous
    assert "100_3" in w.pbx.observer().endpoints()
    with w.registered("100_3") as phones:
        assert phones["100_3"].registered() is True
