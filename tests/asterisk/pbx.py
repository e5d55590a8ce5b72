"""A throwaway Asterisk: its own configuration folder, loopback only, one process.

The configuration is what an administrator following docs/asterisk.md would have: their
own `pjsip.conf` (a UDP transport named as ShareLine expects), `extensions.conf`,
`queues.conf` (each with exactly the documented `#include` line), `manager.conf` with the
documented least-privilege `shareline` user, and `voicemail.conf`. The tests add one more
AMI user, `observer`, for what they check (extension state, queue status); ShareLine
never uses it.

Nothing of Asterisk is in this repository: `SHARELINE_ASTERISK_BIN` names a binary built
or installed elsewhere; its modules folder is found next to it (`<prefix>/lib/asterisk/
modules`) unless `SHARELINE_ASTERISK_MODULES` says otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from services.extensions.asterisk.ami import AmiClient, AmiConfig

AMI_USER = "shareline"
AMI_SECRET = "it-shareline-ami-secret-0123456789"
OBSERVER = "observer"
OBSERVER_SECRET = "it-observer-ami-secret-9876543210"
TRANSPORT = "transport-udp"


def asterisk_bin() -> str | None:
    value = os.environ.get("SHARELINE_ASTERISK_BIN", "").strip()
    return value or None


def modules_dir(binary: Path) -> Path:
    explicit = os.environ.get("SHARELINE_ASTERISK_MODULES")
    if explicit:
        return Path(explicit)
    prefix = binary.resolve().parent.parent
    for candidate in (
        prefix / "lib/asterisk/modules",
        prefix / "lib64/asterisk/modules",
        Path("/usr/lib/asterisk/modules"),
        Path("/usr/lib/x86_64-linux-gnu/asterisk/modules"),
    ):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"no Asterisk modules folder found for {binary}")


def data_dir(binary: Path) -> Path:
    """Asterisk's data folder (its XML documentation is needed at start-up)."""
    explicit = os.environ.get("SHARELINE_ASTERISK_DATA")
    if explicit:
        return Path(explicit)
    prefix = binary.resolve().parent.parent
    for candidate in (
        prefix / "var/lib/asterisk",
        prefix / "share/asterisk",
        Path("/usr/share/asterisk"),
        Path("/var/lib/asterisk"),
    ):
        if (candidate / "documentation").is_dir():
            return candidate
    raise RuntimeError(f"no Asterisk data folder (with documentation/) found for {binary}")


def free_udp_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
        with socket.socket() as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def free_port_block(size: int = 4) -> int:
    """A UDP port with `size - 1` free neighbours above it (sipp: SIP port, media ports)."""
    while True:
        base = free_udp_port()
        if base + size >= 65535:
            continue
        try:
            socks = []
            for p in range(base, base + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return base


class Asterisk:
    """Asterisk run in the foreground (`-f`) from a private folder under `root`."""

    def __init__(
        self, root: Path, shareline_config_dir: Path, binary: str, directive: str = "#tryinclude"
    ) -> None:
        self.directive = directive
        self.root = root
        self.binary = Path(binary)
        self.etc = root / "etc"
        self.logdir = root / "log"
        self.sip_port = free_udp_port()
        self.ami_port = free_udp_port()
        base = free_port_block(4)
        self.rtp_start = base + base % 2  # Asterisk wants an even start
        self.shareline_dir = shareline_config_dir
        self.proc: subprocess.Popen[bytes] | None = None

    # --- configuration --------------------------------------------------------------

    def include(self, name: str) -> str:
        """The exact line docs/asterisk.md tells administrators to add (`#include`)."""
        return f"{self.directive} {self.shareline_dir}/live/{name}"

    def write_config(self) -> None:
        dirs = {
            "astetcdir": self.etc,
            "astmoddir": modules_dir(self.binary),
            "astvarlibdir": self.root / "lib",
            "astdbdir": self.root / "lib",
            "astkeydir": self.root / "lib",
            "astdatadir": data_dir(self.binary),
            "astagidir": self.root / "lib/agi-bin",
            "astspooldir": self.root / "spool",
            "astrundir": self.root / "run",
            "astlogdir": self.logdir,
            "astsbindir": self.binary.resolve().parent,
        }
        for key, path in dirs.items():
            if key not in ("astmoddir", "astsbindir", "astdatadir"):
                Path(path).mkdir(parents=True, exist_ok=True)
        for sub in ("moh", "keys"):
            (self.root / "lib" / sub).mkdir(parents=True, exist_ok=True)
        files = {
            "asterisk.conf": "[directories]\n"
            + "".join(f"{k} => {v}\n" for k, v in dirs.items())
            + "\n[options]\nverbose = 3\ndebug = 0\nnocolor = yes\nhideconnect = yes\n"
            "transmit_silence = no\n",
            "modules.conf": "[modules]\nautoload = yes\n",
            "logger.conf": "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n"
            "console => notice,warning,error\n",
            "manager.conf": f"""[general]
enabled = yes
bindaddr = 127.0.0.1
port = {self.ami_port}

[{AMI_USER}]
secret = {AMI_SECRET}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,agent
write = system,config,agent
allowmultiplelogin = yes

[{OBSERVER}]
secret = {OBSERVER_SECRET}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = call,reporting,agent,system
allowmultiplelogin = yes
""",
            "pjsip.conf": f"""[global]
type = global
user_agent = asterisk-it

[{TRANSPORT}]
type = transport
protocol = udp
bind = 127.0.0.1:{self.sip_port}

{self.include("pjsip_shareline.conf")}
""",
            "extensions.conf": f"""[general]
static = yes
writeprotect = yes

[globals]

{self.include("extensions_shareline.conf")}
""",
            "queues.conf": f"""[general]
persistentmembers = yes

{self.include("queues_shareline.conf")}
""",
            # res_pjsip_notify (PJSIPNotify, for resync) declines to load without its file.
            "pjsip_notify.conf": "[check-sync]\nEvent => check-sync\n",
            "voicemail.conf": "[general]\nformat = wav\n\n[default]\n101 => 1234,Dana Voss\n",
            "musiconhold.conf": f"[default]\nmode = files\ndirectory = {self.root}/lib/moh\n",
            "rtp.conf": (
                f"[general]\nrtpstart = {self.rtp_start}\nrtpend = {self.rtp_start + 200}\n"
            ),
            "indications.conf": "[general]\ncountry = us\n\n[us]\ndescription = United States\n"
            "ringcadence = 2000,4000\ndial = 350+440\nbusy = 480+620/500,0/500\n"
            "ring = 440+480/2000,0/4000\ncongestion = 480+620/250,0/250\n"
            "callwaiting = 440/300,0/10000\ndialrecall = !350+440/100,!0/100,350+440\n"
            "record = 1400/500,0/15000\ninfo = !950/330,!1400/330,!1800/330,0\n",
        }
        self.etc.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (self.etc / name).write_text(text)

    # --- process ------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        self.write_config()
        out = (self.logdir / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "-f", "-n", "-C", str(self.etc / "asterisk.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"asterisk exited: {self.log_text()[-3000:]}")
            try:
                done = self.cli("core waitfullybooted", timeout=5)
                if "fully booted" in done.lower():
                    self.wait_ami(deadline - time.monotonic())
                    return
            except (subprocess.TimeoutExpired, RuntimeError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"asterisk did not boot: {self.log_text()[-3000:]}")

    def wait_ami(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 1.0)
        while True:
            try:
                self.observer().ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def cli(self, command: str, timeout: float = 10.0) -> str:
        done = subprocess.run(
            [str(self.binary), "-C", str(self.etc / "asterisk.conf"), "-rx", command],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace") or "CLI failed")
        return done.stdout.decode(errors="replace")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # --- observing ------------------------------------------------------------------

    def ami_env(self) -> dict[str, str]:
        """The extensions service's settings for this Asterisk (the least-privilege user)."""
        return {
            "SHARELINE_AMI_HOST": "127.0.0.1",
            "SHARELINE_AMI_PORT": str(self.ami_port),
            "SHARELINE_AMI_USERNAME": AMI_USER,
            "SHARELINE_AMI_SECRET": AMI_SECRET,
            "SHARELINE_AMI_TIMEOUT_SECONDS": "10",
            "SHARELINE_SIP_PORT": str(self.sip_port),
            "SHARELINE_PJSIP_TRANSPORT_NAME": TRANSPORT,
        }

    def observer(self) -> AmiClient:
        return AmiClient(AmiConfig("127.0.0.1", self.ami_port, OBSERVER, OBSERVER_SECRET, 10.0))

    def extension_state(self, exten: str, context: str = "shareline") -> tuple[int, str]:
        with self.observer().session() as ami:
            reply = ami.action({"Action": "ExtensionState", "Exten": exten, "Context": context})
        return int(reply.get("Status", "-1")), reply.get("StatusText", "")

    def log_text(self) -> str:
        path = self.logdir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_mark(self) -> int:
        return len(self.log_text())

    def log_since(self, mark: int) -> str:
        return self.log_text()[mark:]

    @staticmethod
    def errors(text: str) -> list[str]:
        return [line for line in text.splitlines() if re.search(r"\] ERROR\[", line)]
