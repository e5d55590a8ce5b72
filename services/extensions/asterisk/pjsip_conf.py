"""`pjsip_shareline.conf`: an endpoint, an auth and an AOR for every slot.

Section names per slot `100_2`: endpoint `[100_2]`, AOR `[100_2]` (res_pjsip keeps one
namespace per object type, and the registrar finds the AOR by the name the phone registers
as), auth `[auth-100_2]`. Digits and `_` only in slot names, so no two ever collide.
"""

from __future__ import annotations

from services.extensions.asterisk.model import ExtensionSpec, RenderSettings, SlotSpec

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


def _endpoint(out: list[str], ext: ExtensionSpec, slot: SlotSpec, s: RenderSettings) -> None:
    name = slot.auth_name
    out += [
        f"[{name}]",
        "type=endpoint",
        f"transport={s.transport}",
        f"context={s.context}",
        "disallow=all",
        f"allow={CODECS}",
        f"auth={auth_section(name)}",
        f"aors={name}",
        f"callerid={caller_id(ext)}",
        # Phones cannot choose their own identity: Asterisk sends ours as PAI to the
        # devices and ignores any PAI a device sends.
        "send_pai=yes",
        "trust_id_inbound=no",
        "trust_id_outbound=yes",
        "direct_media=no",
        "rtp_symmetric=yes",
        "force_rport=yes",
        "rewrite_contact=yes",
        "identify_by=username,auth_username",
        f"set_var=SHARELINE_EXT={ext.number}",
        f"set_var=SHARELINE_SLOT={name}",
    ]
    if slot.ring_mode == "distinctive" and slot.tone is not None:
        out.append(f"set_var=SHARELINE_RING={ring_value(slot.tone)}")
    out.append("")


def _auth(out: list[str], ext: ExtensionSpec, slot: SlotSpec) -> None:
    out += [
        f"[{auth_section(slot.auth_name)}]",
        "type=auth",
        "auth_type=userpass",
        f"username={slot.auth_name}",
        f"password={ext.password}",
        "",
    ]


def _aor(out: list[str], ext: ExtensionSpec, slot: SlotSpec) -> None:
    out += [
        f"[{slot.auth_name}]",
        "type=aor",
        "max_contacts=1",
        "remove_existing=yes",
        "qualify_frequency=60",
    ]
    if ext.voicemail:
        out.append(f"mailboxes={ext.number}@{VOICEMAIL_CONTEXT}")
    out.append("")


def render_pjsip(extensions: tuple[ExtensionSpec, ...], settings: RenderSettings) -> str:
    out = [
        "; ShareLine PJSIP objects: endpoint, auth and aor per slot.",
        "; Generated on every telephony commit and replaced whole; do not edit.",
        "",
    ]
    for ext in extensions:
        for slot in ext.slots:
            _endpoint(out, ext, slot, settings)
            _auth(out, ext, slot)
            _aor(out, ext, slot)
    return "\n".join(out)
