"""`pjsip_shareline.conf`: an endpoint, an auth and an AOR for every slot.

Section names per slot `100_2`: endpoint `[100_2]`, AOR `[100_2]` (res_pjsip keeps one
namespace per object type, and the registrar finds the AOR by the name the phone registers
as), auth `[auth-100_2]`. Digits and `_` only in slot names, so no two ever collide.
"""

from __future__ import annotations

from services.extensions.asterisk.model import ExtensionSpec, RenderSettings

VOICEMAIL_CONTEXT = "default"
CODECS = "ulaw,alaw,g722"


def auth_section(auth_name: str) -> str:
    return f"auth-{auth_name}"


def ring_value(tone: int) -> str:
    """The Alert-Info `info=` value of a distinctive tone (1-5): `ring1` … `ring5`."""
    return f"ring{tone}"


def caller_id(ext: ExtensionSpec) -> str:
    # The name is already free of `"` and `\`; Asterisk takes the last `<...>` as the number
    # and the first quoted run as the name, so `<`/`>` inside the quotes parse back intact.
    return f'"{ext.name}" <{ext.number}>'


def render_pjsip(extensions: tuple[ExtensionSpec, ...], settings: RenderSettings) -> str:
    # One formatted piece per slot, joined once: at 300,000 slots, appending each of a
    # slot's 37 lines to a list cost more than formatting them.
    endpoint_head = (
        "type=endpoint\n"
        f"transport={settings.transport}\n"
        f"context={settings.context}\n"
        "disallow=all\n"
        f"allow={CODECS}\n"
    )
    parts = [
        "; ShareLine PJSIP objects: endpoint, auth and aor per slot.\n"
        "; Generated on every telephony commit and replaced whole; do not edit.\n"
    ]
    for ext in extensions:
        number = ext.number
        callerid = caller_id(ext)
        mailbox = f"mailboxes={number}@{VOICEMAIL_CONTEXT}\n" if ext.voicemail else ""
        for slot in ext.slots:
            name = slot.auth_name
            auth = auth_section(name)
            ring = (
                f"set_var=SHARELINE_RING={ring_value(slot.tone)}\n"
                if slot.ring_mode == "distinctive" and slot.tone is not None
                else ""
            )
            parts.append(
                f"\n[{name}]\n"
                f"{endpoint_head}"
                f"auth={auth}\n"
                f"aors={name}\n"
                f"callerid={callerid}\n"
                # Phones cannot choose their own identity: Asterisk sends ours as PAI to
                # the devices and ignores any PAI a device sends.
                "send_pai=yes\n"
                "trust_id_inbound=no\n"
                "trust_id_outbound=yes\n"
                "direct_media=no\n"
                "rtp_symmetric=yes\n"
                "force_rport=yes\n"
                "rewrite_contact=yes\n"
                "identify_by=username,auth_username\n"
                f"set_var=SHARELINE_EXT={number}\n"
                f"set_var=SHARELINE_SLOT={name}\n"
                f"{ring}"
                f"\n[{auth}]\n"
                "type=auth\n"
                "auth_type=userpass\n"
                f"username={name}\n"
                f"password={ext.password}\n"
                f"\n[{name}]\n"
                "type=aor\n"
                "max_contacts=1\n"
                "remove_existing=yes\n"
                "qualify_frequency=60\n"
                f"{mailbox}"
            )
    return "".join(parts)
