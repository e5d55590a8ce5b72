"""The account documents an app receives: Linphone XML and our JSON, built from telephony."""

from __future__ import annotations

import copy
import json

import defusedxml.ElementTree as SafeET

from services.aps.softphones.account import (
    LPCONFIG_NS,
    SoftphoneAccount,
    account_for_slot,
    render_json,
    render_linphone,
)
from services.extensions.client import (
    CommittedExtension,
    CommittedSlot,
    CommittedTelephony,
    SipServer,
)
from tests.aps.softphones.support import PASSWORD, SIP_HOST, TELEPHONY

NS = {"lp": LPCONFIG_NS}


def telephony(document: dict | None = None) -> CommittedTelephony:
    doc = document or TELEPHONY
    return CommittedTelephony(
        revision=doc["revision"],
        content_hash=doc["content_hash"],
        committed_at=None,
        sip=SipServer(**doc["sip"]),
        extensions=tuple(
            CommittedExtension(
                number=e["number"],
                name=e["name"],
                full_name=e["full_name"],
                email=e["email"],
                password=e["password"],
                slots=tuple(CommittedSlot(**s) for s in e["slots"]),
            )
            for e in doc["extensions"]
        ),
    )


def sections(xml: bytes) -> dict[str, dict[str, str]]:
    root = SafeET.fromstring(xml)
    assert root.tag == f"{{{LPCONFIG_NS}}}config"
    out: dict[str, dict[str, str]] = {}
    for section in root.findall("lp:section", NS):
        entries = section.findall("lp:entry", NS)
        assert all(e.get("overwrite") == "true" for e in entries)
        out[section.get("name")] = {e.get("name"): e.text or "" for e in entries}
    return out


def account(auth_name: str = "100_2") -> SoftphoneAccount:
    found = account_for_slot(telephony(), auth_name)
    assert found is not None
    return found


def test_a_slot_gets_its_own_auth_name_and_the_extensions_password() -> None:
    found = account("100_2")
    assert (found.username, found.auth_name, found.password) == ("100_2", "100_2", PASSWORD)
    assert (found.domain, found.port, found.transport) == (SIP_HOST, 5060, "udp")
    assert found.caller_id == '"Alice" <100>'
    assert found.email == "alice@example.com"
    assert account_for_slot(telephony(), "100_3") is None
    assert PASSWORD not in repr(found)


def test_linphone_xml_parses_to_one_auth_info_and_one_proxy() -> None:
    parsed = sections(render_linphone(account(), register_expiry_seconds=600))
    assert parsed["auth_info_0"] == {
        "username": "100_2",
        "userid": "100_2",
        "passwd": PASSWORD,
        "domain": SIP_HOST,
    }
    assert parsed["proxy_0"] == {
        "reg_proxy": f"<sip:{SIP_HOST}:5060;transport=udp>",
        "reg_identity": f'"Alice" <sip:100_2@{SIP_HOST}>',
        "reg_expires": "600",
        "reg_sendregister": "1",
    }
    assert parsed["sip"] == {"default_proxy": "0"}
    assert parsed["misc"] == {"transient_provisioning": "1"}


def test_linphone_xml_escapes_what_xml_and_sip_treat_specially() -> None:
    doc = copy.deepcopy(TELEPHONY)
    doc["extensions"][0]["name"] = 'Al "the" <boss> & co'
    doc["extensions"][0]["password"] = "pw<&>'\"]]>Kq2mZ7vR4tL8"
    doc["sip"]["transport"] = "tls"
    found = account_for_slot(telephony(doc), "100_2")
    assert found is not None
    parsed = sections(render_linphone(found, register_expiry_seconds=300))
    assert parsed["auth_info_0"]["passwd"] == "pw<&>'\"]]>Kq2mZ7vR4tL8"
    assert parsed["proxy_0"]["reg_identity"] == f'"Al \\"the\\" <boss> & co" <sip:100_2@{SIP_HOST}>'
    assert parsed["proxy_0"]["reg_proxy"] == f"<sip:{SIP_HOST}:5060;transport=tls>"
    assert len(parsed) == 4  # no section smuggled in through a value


def test_json_document_has_exactly_the_documented_members() -> None:
    document = json.loads(render_json(account()))
    assert document == {
        "version": 1,
        "display_name": "Alice",
        "username": "100_2",
        "auth_name": "100_2",
        "password": PASSWORD,
        "domain": SIP_HOST,
        "port": 5060,
        "transport": "udp",
        "caller_id": '"Alice" <100>',
    }
