"""sipp as the phones: scenarios written into temp folders, one sipp process per device.

A *phone* is one sipp process on its own UDP port: its main scenario REGISTERs (digest
auth) and then holds; incoming requests that belong to no call of its own (Asterisk's
INVITEs, OPTIONS qualifies, NOTIFY check-sync) run the out-of-call scenario (`-oocsf`),
which rings, answers after a delay, or only rings until cancelled. `stop()` ends the
process and sends REGISTER `Expires: 0` from the same port, so Asterisk forgets the
contact at once. A *call* is a one-shot sipp UAC (INVITE with digest auth).

Every message sipp sends or receives is written to its `-message_file`; the tests read
the SIP messages back from there (`messages()`).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SIPP = shutil.which("sipp")

_REGISTER = """\
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Max-Forwards: 70
Expires: {expires}
User-Agent: sipp-phone
{auth}Content-Length: 0

"""


def _register_scenario(expires: int, hold: bool) -> str:
    hold_part = '  <pause milliseconds="3600000"/>\n' if hold else ""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
{_REGISTER.format(cseq=1, expires=expires, auth="")}]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
{_REGISTER.format(cseq=2, expires=expires, auth="[authentication]" + chr(10))}]]></send>
  <recv response="200" optional="true" next="done"/>
  <recv response="401" optional="true" next="refused"/>
  <recv response="403" next="refused"/>
  <label id="done"/>
{hold_part}  <nop next="end"/>
  <label id="refused"/>
  <nop><action><exec int_cmd="stop_now"/></action></nop>
  <label id="end"/>
</scenario>
"""


_SDP = """\
v=0
o=phone 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""


def _mid_call(bye: str, timeout: str = "") -> str:
    """Answer re-INVITEs and UPDATEs (connected-line updates) until a BYE; `bye` is the
    `<recv request="BYE" .../>` element that ends the loop; `timeout` (attributes) bounds
    the wait (sipp waits on the first element of a run of optional receives)."""
    return f"""  <label id="incall"/>
  <recv request="INVITE" optional="true" next="reinvite" {timeout}/>
  <recv request="UPDATE" optional="true" next="update"/>
{bye}
  <label id="reinvite"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP}]]></send>
  <recv request="ACK" next="incall"/>
  <label id="update"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
  <nop next="incall"/>
"""


def _reply(status: str, *, to_tag: bool = False, cseq: str = "[last_CSeq:]") -> str:
    """A sipp `<send>` answering the last request with `status` and no body."""
    to = "[last_To:];tag=[pid]SIPpTag01[call_number]" if to_tag else "[last_To:]"
    return f"""  <send><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
{to}
[last_Call-ID:]
{cseq}
Content-Length: 0

]]></send>"""


_REPLY_HEADERS = """\
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
"""


def _uas_scenario(answer_after_ms: int | None) -> str:
    """Out-of-call scenario: ring on INVITE; answer after a delay, or ring until CANCEL.

    NOTIFY and OPTIONS are answered 200 (check-sync, qualify)."""
    ringing = f"""  <send><![CDATA[
SIP/2.0 180 Ringing
{_REPLY_HEADERS}Content-Length: 0

]]></send>
"""
    if answer_after_ms is None:
        after = f"""  <recv request="CANCEL"/>
{_reply("200 OK", to_tag=True)}
{_reply("487 Request Terminated", to_tag=True, cseq="CSeq: [cseq] INVITE")}
  <recv request="ACK" next="end"/>
"""
    else:
        after = f"""  <recv request="CANCEL" timeout="{answer_after_ms}" ontimeout="answer"
        next="cancelled"/>
  <label id="answer"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}Content-Type: application/sdp
Content-Length: [len]

{_SDP}]]></send>
  <recv request="ACK"/>
{_mid_call('  <recv request="BYE" next="byed"/>')}  <label id="byed"/>
{_reply("200 OK")}
  <nop next="end"/>
  <label id="cancelled"/>
{_reply("200 OK")}
{_reply("487 Request Terminated", to_tag=True, cseq="CSeq: [cseq] INVITE")}
  <recv request="ACK" next="end"/>
"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="phone">
  <recv request="INVITE" optional="true" next="invite"/>
  <recv request="NOTIFY" optional="true" next="ok"/>
  <recv request="OPTIONS" next="ok"/>
  <label id="ok"/>
{_reply("200 OK", to_tag=True)}
  <nop next="end"/>
  <label id="invite"/>
{_reply("100 Trying")}
{ringing}{after}  <label id="end"/>
</scenario>
"""


def _uac_scenario(hold_ms: int) -> str:
    bye = '  <recv request="BYE" next="byed"/>'
    invite = (
        """\
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:{user}@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-phone
{auth}Content-Type: application/sdp
Content-Length: [len]

"""
        + _SDP
    )
    ack = """\
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

"""
    failure_codes = ("403", "404", "408", "480", "486", "487", "488", "500", "503", "603")
    failures = "".join(
        f'  <recv response="{code}" optional="true" next="failed"/>\n' for code in failure_codes
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="call">
  <Global variables="user"/>
  <send retrans="500"><![CDATA[
{invite.format(user="[$user]", cseq=1, auth="")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send><![CDATA[
{ack.format(user="[$user]", cseq=1)}]]></send>
  <send retrans="500"><![CDATA[
{invite.format(user="[$user]", cseq=2, auth="[authentication]" + chr(10))}]]></send>
  <label id="progress"/>
  <recv response="100" optional="true" next="progress"/>
  <recv response="180" optional="true" next="progress"/>
  <recv response="183" optional="true" next="progress"/>
  <recv response="200" optional="true" next="answered">
    <action>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="remote_to"/>
    </action>
  </recv>
{failures}  <recv response="401" next="failed"/>
  <label id="failed"/>
  <send><![CDATA[
{ack.format(user="[$user]", cseq=2)}]]></send>
  <nop next="end"/>
  <label id="answered"/>
  <send><![CDATA[
{ack.format(user="[$user]", cseq=2)}]]></send>
{_mid_call(bye, f'timeout="{hold_ms}" ontimeout="hangup"')}  <label id="hangup"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[$user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
To:[$remote_to]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <nop next="end"/>
  <label id="byed"/>
{_reply("200 OK")}
  <label id="end"/>
</scenario>
"""


@dataclass(frozen=True)
class SipMessage:
    direction: str  # "received" or "sent"
    first_line: str
    headers: dict[str, list[str]]

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def method(self) -> str | None:
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split()[0]

    @property
    def status(self) -> int | None:
        if self.first_line.startswith("SIP/2.0"):
            return int(self.first_line.split()[1])
        return None


_BLOCK = re.compile(
    r"^-+ [^\n]*\n(?P<dir>UDP message (?:received|sent)|message (?:received|sent))[^\n]*\n\n?"
    r"(?P<body>.*?)(?=^-+ [0-9]|\Z)",
    re.S | re.M,
)


def parse_messages(text: str) -> list[SipMessage]:
    out = []
    for m in _BLOCK.finditer(text):
        lines = m.group("body").replace("\r", "").strip("\n").split("\n")
        if not lines or not lines[0]:
            continue
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if not line:
                break
            if ":" in line:
                key, value = line.split(":", 1)
                headers.setdefault(key.strip().lower(), []).append(value.strip())
        direction = "received" if "received" in m.group("dir") else "sent"
        out.append(SipMessage(direction, lines[0].strip(), headers))
    return out


class SippRun:
    """One sipp process with its own folder and message log."""

    def __init__(self, folder: Path, name: str) -> None:
        assert SIPP is not None, "sipp is not installed"
        self.folder = folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "messages.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text)
        return path

    def start(self, args: list[str]) -> None:
        out = (self.folder / "sipp.out").open("ab")
        self.proc = subprocess.Popen(
            [
                SIPP,
                *args,
                "-trace_msg",
                "-message_file",
                str(self.log),
                "-nostdin",
                "-trace_err",
                "-error_file",
                str(self.folder / "errors.log"),
            ],
            cwd=self.folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def terminate(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def messages(self) -> list[SipMessage]:
        if not self.log.exists():
            return []
        return parse_messages(self.log.read_text(errors="replace"))


class Phone:
    """A registered device: REGISTERs as `auth_name` and answers Asterisk's requests."""

    def __init__(
        self,
        folder: Path,
        server: tuple[str, int],
        port: int,
        auth_name: str,
        password: str,
        answer_after_ms: int | None = None,
    ) -> None:
        self.server, self.port, self.auth_name, self.password = server, port, auth_name, password
        self.answer_after_ms = answer_after_ms
        self.folder = folder
        self.run = SippRun(folder, f"phone-{auth_name}-{port}")
        self._runs: list[SippRun] = [self.run]

    def _args(self, run: SippRun, scenario: Path, *extra: str) -> list[str]:
        return [
            f"{self.server[0]}:{self.server[1]}",
            "-sf",
            str(scenario),
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-s",
            self.auth_name,
            "-au",
            self.auth_name,
            "-ap",
            self.password,
            "-timeout",
            "600s",
            "-mp",
            str(self.port + 2),
            *extra,
        ]

    def start(self) -> None:
        reg = self.run.write("register.xml", _register_scenario(300, hold=True))
        uas = self.run.write("phone.xml", _uas_scenario(self.answer_after_ms))
        self.run.start(self._args(self.run, reg, "-oocsf", str(uas)))

    def registered(self) -> bool | None:
        """True after 200 to the authenticated REGISTER, False on refusal, None meanwhile."""
        for msg in self.run.messages():
            if msg.direction == "received" and (msg.header("cseq") or "") == "2 REGISTER":
                return msg.status == 200
        if self.run.proc is not None and self.run.proc.poll() is not None:
            return False
        return None

    def wait_registered(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.registered()
            if state is not None:
                return state
            time.sleep(0.1)
        return False

    def received(self, method: str) -> list[SipMessage]:
        return [m for m in self.run.messages() if m.direction == "received" and m.method == method]

    def stop(self) -> None:
        """End the process, then unregister from the same port (Expires: 0)."""
        self.run.terminate()
        if self.registered():
            unreg = SippRun(self.folder, f"unregister-{self.auth_name}-{self.port}")
            scenario = unreg.write("unregister.xml", _register_scenario(0, hold=False))
            unreg.start(self._args(unreg, scenario))
            try:
                unreg.wait(10)
            except subprocess.TimeoutExpired:
                unreg.terminate()


class Call:
    """One outgoing call from `auth_name` to `target`, held `hold_ms` after the answer."""

    def __init__(
        self,
        folder: Path,
        server: tuple[str, int],
        port: int,
        auth_name: str,
        password: str,
        target: str,
        hold_ms: int = 2000,
    ) -> None:
        self.run = SippRun(folder, f"call-{auth_name}-{target}-{port}")
        scenario = self.run.write("call.xml", _uac_scenario(hold_ms))
        self.args = [
            f"{server[0]}:{server[1]}",
            "-sf",
            str(scenario),
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-s",
            target,
            "-au",
            auth_name,
            "-ap",
            password,
            "-set",
            "user",
            auth_name,
            "-timeout",
            "120s",
            "-mp",
            str(port + 2),
        ]

    def start(self) -> Call:
        self.run.start(self.args)
        return self

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.run.wait(timeout)
        except subprocess.TimeoutExpired:
            self.run.terminate()
            raise

    def final_status(self) -> int | None:
        """The final response to the authenticated INVITE (200 when answered)."""
        for msg in self.run.messages():
            if (
                msg.direction == "received"
                and (msg.header("cseq") or "") == "2 INVITE"
                and (msg.status or 0) >= 200
            ):
                return msg.status
        return None

    def terminate(self) -> None:
        self.run.terminate()
