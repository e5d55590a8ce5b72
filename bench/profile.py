"""Where a service spends its time during a bench phase: py-spy, summarised per function.

A target the bench cannot meet is explained by the profile of the phase that missed it,
so the report carries that profile next to the figures. py-spy samples the process from
outside (`--nonblocking`: it never stops the service), and the phase it watches is an
extra, unmeasured pass: the figures themselves come from runs without a profiler.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_PER_SECOND = 200
# Our code, where a change of ours can act; the process entry points say nothing.
OWN_PREFIXES = ("services/", "gateway/")
ENTRY_FILES = ("services/common/serve.py", "__main__.py")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
_SITE_PACKAGES = re.compile(r"^.*/site-packages/")
_OWN_ROOT = re.compile(r"^/.*?/(?=(?:services|gateway|bench|deploy)/)")


@dataclass
class Profile:
    """Per function: the share of samples it was running in (self) or on the stack (own)."""

    service: str
    samples: int = 0
    running: Counter[str] = field(default_factory=Counter)
    on_stack: Counter[str] = field(default_factory=Counter)
    problem: str = ""

    def top_running(self, count: int = 12) -> list[tuple[float, str]]:
        """Where the CPU burns: the innermost Python frame of each sample."""
        return [(n / self.samples, name) for name, n in self.running.most_common(count)]

    def top_own(self, count: int = 12) -> list[tuple[float, str]]:
        """Our functions by the share of samples they were on the stack (inclusive)."""
        own = [(n / self.samples, name) for name, n in self.on_stack.most_common() if _is_own(name)]
        return own[:count]


def _is_own(name: str) -> bool:
    path = name.rpartition("(")[2].rstrip(")")
    return path.startswith(OWN_PREFIXES) and not path.endswith(ENTRY_FILES)


def function_name(frame: str) -> str:
    """`send (uvicorn/protocols/http/httptools_impl.py)` from a py-spy raw frame."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = _SITE_PACKAGES.sub("", match["file"])
    path = _OWN_ROOT.sub("", path)
    path = re.sub(r"^.*/lib/python3\.\d+/", "", path)
    return f"{match['function']} ({path})"


def summarise(service: str, raw: str) -> Profile:
    """Fold py-spy's `--format raw` output (collapsed stacks) into per-function shares."""
    profile = Profile(service)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [function_name(frame) for frame in stack.split(";")]
        profile.samples += samples
        profile.running[frames[-1]] += samples
        for name in set(frames):
            profile.on_stack[name] += samples
    return profile


def py_spy() -> str | None:
    beside_python = Path(sys.executable).with_name("py-spy")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("py-spy")


@contextmanager
def profiled(services: dict[str, int], out_dir: Path) -> Iterator[list[Profile]]:
    """Sample each named process while the block runs; the list fills in when it ends."""
    profiles: list[Profile] = []
    binary = py_spy()
    if binary is None:
        profiles += [Profile(name, problem="py-spy is not installed") for name in services]
        yield profiles
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    running = {
        name: subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out_dir / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name, pid in services.items()
    }
    try:
        yield profiles
    finally:
        for name, proc in running.items():
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            output = out_dir / f"{name}.txt"
            if output.exists() and output.stat().st_size:
                profiles.append(summarise(name, output.read_text()))
            else:
                reason = err.decode(errors="replace").strip().splitlines()
                profiles.append(Profile(name, problem=reason[-1] if reason else "no samples"))
