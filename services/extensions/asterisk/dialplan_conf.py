"""`extensions_shareline.conf`: the dial plan of the shared extensions.

Contexts (every name here is fixed and documented in docs/asterisk.md):

- `[shareline]` — where the slots' calls start (directly, or through an `include =>`
  from the administrator's endpoint context). Exact entries only: one per extension
  number (plus its hint), one per queue number, one per agent feature code. No patterns,
  so a slot name such as `100_2` matches nothing and is never dialable.
- `[shareline-targets]` — per extension: collect the dial targets at call time.
- `[shareline-add-slot]` — appends `PJSIP/<slot>` to the targets when the slot has a
  registered contact, so an unregistered slot never fails the call.
- `[shareline-alert]` — pre-dial handler on every outgoing leg; adds Alert-Info only on
  a leg whose endpoint carries `SHARELINE_RING` (a distinctive slot).
- `[shareline-agents]` — what a queue member `Local/100@shareline-agents/n` runs:
  rings the extension's slots, never voicemail.
- `[shareline-agent-login]`, `[shareline-agent-logout]` — the feature codes' subroutines;
  they act only for a caller on the extension's primary slot.

Every `Dial()` target comes from literals of this file, never from `${EXTEN}` or from
what a device sent.
"""

from __future__ import annotations

from services.extensions.asterisk.model import ExtensionSpec, QueueSpec, RenderSettings
from services.extensions.asterisk.pjsip_conf import VOICEMAIL_CONTEXT

CONTEXT = "shareline"
ALERT_INFO_URL = "<http://127.0.0.1>"
PRE_DIAL = "b(shareline-alert^s^1)"

# Q.850 causes for an unanswered call when there is no voicemail.
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19

# Long dial-plan arguments, kept apart so the source stays readable.
_APPEND_SLOT = (
    'SHARELINE_TARGETS=${SHARELINE_TARGETS}${IF($["${SHARELINE_TARGETS}" = ""]?:&)}PJSIP/${ARG1}'
)
_ADD_AGENT = (
    "${ARG1},Local/${SHARELINE_EXT}@shareline-agents/n,,,${SHARELINE_EXT},"
    f"hint:${{SHARELINE_EXT}}@{CONTEXT}"
)

_STATIC_CONTEXTS = f"""\
[shareline-add-slot]
; ARG1: a slot's endpoint name, a literal from [shareline-targets].
exten => s,1,GotoIf($["${{PJSIP_AOR(${{ARG1}},contact)}}" = ""]?skip)
 same => n,Set({_APPEND_SLOT})
 same => n(skip),Return()

[shareline-alert]
; Pre-dial handler (Dial option b) on each outgoing leg. SHARELINE_RING comes from the
; set_var of a distinctive slot's endpoint, so only that slot's leg gets the header.
exten => s,1,GotoIf($["${{SHARELINE_RING}}" = ""]?done)
 same => n,Set(PJSIP_HEADER(add,Alert-Info)={ALERT_INFO_URL}\\;info=${{SHARELINE_RING}})
 same => n(done),Return()

[shareline-agent-login]
; ARG1: queue name. Only the primary slot may log in: all slots present the same caller
; id, so the check is on the endpoint the call came from.
exten => s,1,Answer()
 same => n,GotoIf($["${{SHARELINE_EXT}}" = ""]?refused)
 same => n,GotoIf($["${{CHANNEL(endpoint)}}" != "${{SHARELINE_EXT}}"]?refused)
 same => n,AddQueueMember({_ADD_AGENT})
 same => n,GotoIf($["${{AQMSTATUS}}" = "ADDED"]?added)
 same => n,GotoIf($["${{AQMSTATUS}}" = "MEMBERALREADY"]?already)
 same => n,Playback(cannot-complete-as-dialed)
 same => n,Hangup()
 same => n(added),Playback(agent-loginok)
 same => n,Hangup()
 same => n(already),Playback(agent-alreadyon)
 same => n,Hangup()
 same => n(refused),Playback(feature-not-avail-line)
 same => n,Hangup()

[shareline-agent-logout]
; ARG1: queue name. Same primary-slot rule as the login.
exten => s,1,Answer()
 same => n,GotoIf($["${{SHARELINE_EXT}}" = ""]?refused)
 same => n,GotoIf($["${{CHANNEL(endpoint)}}" != "${{SHARELINE_EXT}}"]?refused)
 same => n,RemoveQueueMember(${{ARG1}},Local/${{SHARELINE_EXT}}@shareline-agents/n)
 same => n,GotoIf($["${{RQMSTATUS}}" = "REMOVED"]?removed)
 same => n,Playback(cannot-complete-as-dialed)
 same => n,Hangup()
 same => n(removed),Playback(agent-loggedoff)
 same => n,Hangup()
 same => n(refused),Playback(feature-not-avail-line)
 same => n,Hangup()
"""


def hint(ext: ExtensionSpec) -> str:
    """The device state of an extension: busy when any of its slots is."""
    return "&".join([f"PJSIP/{slot.auth_name}" for slot in ext.slots])


_HANG_UP_UNANSWERED = (
    f'Hangup(${{IF($["${{DIALSTATUS}}" = "BUSY"]?{CAUSE_BUSY}:{CAUSE_NO_ANSWER})}})'
)


def _unanswered(ext: ExtensionSpec) -> str:
    if ext.voicemail:
        return (
            f"VoiceMail({ext.number}@{VOICEMAIL_CONTEXT},"
            '${IF($["${DIALSTATUS}" = "BUSY"]?b:u)})'
        )
    return _HANG_UP_UNANSWERED


def _extension(ext: ExtensionSpec) -> str:
    n = ext.number
    return (
        f"exten => {n},hint,{hint(ext)}\n"
        f"exten => {n},1,Set(DIALSTATUS=)\n"
        f" same => n,Gosub(shareline-targets,{n},1)\n"
        ' same => n,GotoIf($["${SHARELINE_TARGETS}" = ""]?unanswered)\n'
        # c: the other legs are cancelled with "answered elsewhere" (phones then do not
        # log a missed call).
        f" same => n,Dial(${{SHARELINE_TARGETS}},{ext.ring_seconds},c{PRE_DIAL})\n"
        ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)\n'
        f" same => n(unanswered),{_unanswered(ext)}\n"
        " same => n(done),Hangup()\n"
    )


def _queue(queue: QueueSpec, settings: RenderSettings) -> str:
    return (
        f"exten => {queue.number},1,Answer()\n"
        # C: members' phones that did not answer log "answered elsewhere", not missed.
        f" same => n,Queue({queue.name},C,,,{queue.max_wait_seconds})\n"
        " same => n,Hangup()\n"
        f"exten => {settings.agent_login_code}{queue.number},1,"
        f"Gosub(shareline-agent-login,s,1({queue.name}))\n"
        f"exten => {settings.agent_logout_code}{queue.number},1,"
        f"Gosub(shareline-agent-logout,s,1({queue.name}))\n"
    )


def _targets(ext: ExtensionSpec) -> str:
    added = "".join(
        [
            f" same => n,Gosub(shareline-add-slot,s,1({slot.auth_name}))\n"
            for slot in ext.slots
            if slot.ring_mode != "silent"
        ]
    )
    return f"exten => {ext.number},1,Set(SHARELINE_TARGETS=)\n{added} same => n,Return()\n"


def _agent(ext: ExtensionSpec) -> str:
    n = ext.number
    return (
        f"exten => {n},1,Gosub(shareline-targets,{n},1)\n"
        ' same => n,GotoIf($["${SHARELINE_TARGETS}" = ""]?absent)\n'
        f" same => n,Dial(${{SHARELINE_TARGETS}},,c{PRE_DIAL})\n"
        " same => n(absent),Hangup()\n"
    )


def render_dialplan(
    extensions: tuple[ExtensionSpec, ...],
    queues: tuple[QueueSpec, ...],
    settings: RenderSettings,
) -> str:
    # One formatted piece per extension and context, joined once (see render_pjsip).
    return "".join(
        [
            "; ShareLine dial plan. Generated on every telephony commit and replaced whole;\n"
            "; do not edit. See docs/asterisk.md for what each context does.\n"
            f"\n[{CONTEXT}]\n",
            *[_extension(ext) for ext in extensions],
            *[_queue(queue, settings) for queue in queues],
            "\n[shareline-targets]\n",
            *[_targets(ext) for ext in extensions],
            "\n[shareline-agents]\n",
            *[_agent(ext) for ext in extensions],
            "\n",
            _STATIC_CONTEXTS,
        ]
    )
