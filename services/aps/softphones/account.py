"""A softphone's account document, from the latest telephony commit, in two flavours.

`linphone`: Linphone's remote-provisioning XML (lpconfig). `json`: our own documented
account document for other apps (docs/softphones.md). Both are built with a serializer
that escapes, never by pasting strings.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from services.extensions.client import CommittedTelephony

LPCONFIG_NS = "http://www.linphone.org/xsds/lpconfig.xsd"
JSON_VERSION = 1


@dataclass(frozen=True)
class SoftphoneAccount:
    """Everything an app needs to register one slot of an extension."""

    display_name: str
    username: str
    auth_name: str
    password: str
    domain: str
    port: int
    transport: str
    caller_id: str
    extension: str
    email: str | None

    def __repr__(self) -> str:  # a stray log of the object must not leak the password
        return f"SoftphoneAccount(auth_name={self.auth_name!r}, domain={self.domain!r})"


def account_for_slot(telephony: CommittedTelephony, auth_name: str) -> SoftphoneAccount | None:
    """The account of `auth_name` in the committed telephony state, if it is there."""
    found = telephony.slot(auth_name)
    if found is None:
        return None
    extension, _slot = found
    name = extension.name or extension.number
    return SoftphoneAccount(
        display_name=name,
        username=auth_name,
        auth_name=auth_name,
        password=extension.password,
        domain=telephony.sip.host,
        port=int(telephony.sip.port),
        transport=str(telephony.sip.transport),
        caller_id=f"{_quoted(name)} <{extension.number}>",
        extension=extension.number,
        email=extension.email,
    )


def _quoted(name: str) -> str:
    """A SIP display name as a quoted string (RFC 3261 quoted-pair for `"` and `\\`)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def render_json(account: SoftphoneAccount) -> bytes:
    document = {
        "version": JSON_VERSION,
        "display_name": account.display_name,
        "username": account.username,
        "auth_name": account.auth_name,
        "password": account.password,
        "domain": account.domain,
        "port": account.port,
        "transport": account.transport,
        "caller_id": account.caller_id,
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def render_linphone(account: SoftphoneAccount, *, register_expiry_seconds: int) -> bytes:
    """Linphone remote-provisioning XML: one auth_info and one proxy, applied once."""
    host_port = _host_port(account.domain, account.port)
    identity_host = account.domain if ":" not in account.domain else f"[{account.domain}]"
    sections: dict[str, dict[str, str]] = {
        "sip": {"default_proxy": "0"},
        "auth_info_0": {
            "username": account.username,
            "userid": account.auth_name,
            "passwd": account.password,
            "domain": account.domain,
        },
        "proxy_0": {
            "reg_proxy": f"<sip:{host_port};transport={account.transport}>",
            "reg_identity": f"{_quoted(account.display_name)} "
            f"<sip:{account.username}@{identity_host}>",
            "reg_expires": str(register_expiry_seconds),
            "reg_sendregister": "1",
        },
        # The link works once: without this the app would fetch it again at every start.
        "misc": {"transient_provisioning": "1"},
    }
    ET.register_namespace("", LPCONFIG_NS)
    root = ET.Element(f"{{{LPCONFIG_NS}}}config")
    for section_name, entries in sections.items():
        section = ET.SubElement(root, f"{{{LPCONFIG_NS}}}section", name=section_name)
        for key, value in entries.items():
            entry = ET.SubElement(section, f"{{{LPCONFIG_NS}}}entry", name=key, overwrite="true")
            entry.text = value
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
