"""The AMI client against a fake Asterisk that speaks the real protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from services.extensions.asterisk.ami import (
    AmiActionFailed,
    AmiClient,
    AmiConfig,
    AmiError,
    ContactInfo,
)
from tests.support.ami_server import SECRET, FakeAmi, Member, closed_port


@pytest.fixture
def ami() -> Iterator[FakeAmi]:
    with FakeAmi(
        endpoints={"100", "100_2", "101", "trunk"},
        contacts={
            "100": ("sip:100@192.0.2.10:5060", "Yealink SIP-T46U 108.86.0.20", "Reachable"),
            "100_2": ("sip:100_2@198.51.100.7:41234;transport=tls", "Linphone/5.2", "Unreachable"),
        },
        queues={"support": {}},
    ) as server:
        yield server


def test_ping_logs_in_matches_action_ids_and_logs_off(ami: FakeAmi) -> None:
    AmiClient(ami.config()).ping()
    ami.state.wait_for("Logoff")
    assert ami.state.names() == ["Login", "Ping", "Logoff"]
    ids = [a["ActionID"] for a in ami.state.actions]
    assert len(set(ids)) == 3
    assert ami.state.actions[0]["Events"] == "off"


def test_wrong_secret_is_refused_without_leaking_it(ami: FakeAmi) -> None:
    with pytest.raises(AmiError) as caught:
        AmiClient(ami.config(secret="not-the-secret-xyz")).ping()
    text = str(caught.value) + str(caught.value.to_problem())
    assert "refused the login" in text
    assert "not-the-secret-xyz" not in text and SECRET not in text
    assert "not-the-secret-xyz" not in repr(ami.config(secret="not-the-secret-xyz"))


def test_endpoints_are_listed_through_the_event_list(ami: FakeAmi) -> None:
    assert AmiClient(ami.config()).endpoints() == {"100", "100_2", "101", "trunk"}


def test_empty_listing_is_an_empty_set_not_an_error(ami: FakeAmi) -> None:
    ami.state.endpoints.clear()
    assert AmiClient(ami.config()).endpoints() == set()


def test_contacts_report_registration_user_agent_and_uri(ami: FakeAmi) -> None:
    contacts = AmiClient(ami.config()).contacts()
    assert contacts == {
        "100": ContactInfo(
            "100", "100", "registered", "Reachable", "Yealink SIP-T46U 108.86.0.20",
            "sip:100@192.0.2.10:5060",
        ),
        "100_2": ContactInfo(
            "100_2", "100_2", "unreachable", "Unreachable", "Linphone/5.2",
            "sip:100_2@198.51.100.7:41234;transport=tls",
        ),
    }  # fmt: skip


def test_reload_sends_one_reload_per_module_in_order(ami: FakeAmi) -> None:
    AmiClient(ami.config()).reload(["res_pjsip.so", "pbx_config.so", "app_queue.so"])
    reloads = [a["Module"] for a in ami.state.actions if a["Action"] == "Reload"]
    assert reloads == ["res_pjsip.so", "pbx_config.so", "app_queue.so"]


def test_failing_reload_raises_with_asterisk_message(ami: FakeAmi) -> None:
    ami.state.reload_errors["pbx_config.so"] = "No such module"
    with pytest.raises(AmiActionFailed, match=r"pbx_config\.so: No such module"):
        AmiClient(ami.config()).reload(["res_pjsip.so", "pbx_config.so", "app_queue.so"])
    reloads = [a["Module"] for a in ami.state.actions if a["Action"] == "Reload"]
    assert reloads == ["res_pjsip.so", "pbx_config.so"]


def test_reload_waits_for_a_reload_already_in_progress(ami: FakeAmi) -> None:
    ami.state.reloads_busy = 2
    AmiClient(ami.config()).reload(["res_pjsip.so"])
    assert ami.state.names().count("Reload") == 3


def test_reload_busy_beyond_the_deadline_fails(ami: FakeAmi) -> None:
    ami.state.reloads_busy = 1000
    with pytest.raises(AmiError, match="did not answer within"):
        AmiClient(ami.config(timeout=0.5)).reload(["res_pjsip.so"])


def test_notify_sends_check_sync_to_the_endpoint(ami: FakeAmi) -> None:
    assert AmiClient(ami.config()).notify("100", "check-sync") == "NOTIFY sent"
    (sent,) = [a for a in ami.state.actions if a["Action"] == "PJSIPNotify"]
    assert sent["Endpoint"] == "100" and sent["Variable"] == "Event=check-sync"


def test_notify_to_an_unregistered_endpoint_fails_clearly(ami: FakeAmi) -> None:
    with pytest.raises(AmiActionFailed, match="No contacts found"):
        AmiClient(ami.config()).notify("101", "check-sync")


@pytest.mark.parametrize(
    ("endpoint", "event"),
    [("100\r\nAction: Originate", "check-sync"), ("100", "check-sync\r\nAction: X")],
)
def test_line_breaks_never_reach_the_wire(ami: FakeAmi, endpoint: str, event: str) -> None:
    with pytest.raises(AmiError):
        AmiClient(ami.config()).notify(endpoint, event)
    assert "Originate" not in ami.state.names() and "X" not in ami.state.names()


def test_queue_add_status_and_remove(ami: FakeAmi) -> None:
    client = AmiClient(ami.config())
    interface = "Local/100@shareline-agents/n"
    client.queue_add("support", interface, "100", "hint:100@shareline")
    client.queue_add("support", interface, "100", "hint:100@shareline")  # idempotent
    (member,) = client.queue_status()["support"].members
    assert (member.interface, member.name, member.state_interface, member.membership) == (
        interface, "100", "hint:100@shareline", "dynamic",
    )  # fmt: skip
    client.queue_remove("support", interface)
    client.queue_remove("support", interface)  # idempotent
    assert client.queue_status()["support"].members == ()


def test_queue_errors_other_than_idempotent_ones_raise(ami: FakeAmi) -> None:
    client = AmiClient(ami.config())
    with pytest.raises(AmiActionFailed, match="No such queue"):
        client.queue_add("sales", "Local/100@shareline-agents/n", "100", "hint:100@shareline")
    ami.state.queues["support"]["Local/101@shareline-agents/n"] = Member(
        "Local/101@shareline-agents/n", "101", "hint:101@shareline", membership="static"
    )
    with pytest.raises(AmiActionFailed, match="Not dynamic"):
        client.queue_remove("support", "Local/101@shareline-agents/n")


def test_connection_refused_is_a_clear_error() -> None:
    config = AmiConfig("127.0.0.1", closed_port(), "shareline", SECRET, timeout=1.0)
    with pytest.raises(AmiError, match="cannot connect"):
        AmiClient(config).ping()


def test_silent_server_times_out_within_the_deadline() -> None:
    with FakeAmi(stall=True) as silent:
        started = time.monotonic()
        with pytest.raises(AmiError, match=r"did not answer within 0\.3 s"):
            AmiClient(silent.config(timeout=0.3)).ping()
        assert time.monotonic() - started < 2


def test_ami_error_is_a_problem_document() -> None:
    problem = AmiActionFailed("Reload", "boom").to_problem()
    assert problem["status"] == 502
    assert problem["type"].endswith("asterisk-action-failed")
