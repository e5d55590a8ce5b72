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
# Frames every sample shares (the interpreter, uvicorn's loop, the process entry) tell
# nothing about where the time goes.
SHARED_ABOVE = 0.85
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
_SITE_PACKAGES = re.compile(r"^.*/site-packages/")


@dataclass
class Profile:
    """Share of samples in which each function was on the stack (inclusive)."""

    service: str
    samples: int = 0
    functions: Counter[str] = field(default_factory=Counter)
    problem: str = ""

    def top(self, count: int = 15) -> list[tuple[float, str]]:
        if not self.samples:
            return []
        shares = [
            (n / self.samples, name)
            for name, n in self.functions.most_common()
            if n / self.samples < SHARED_ABOVE
        ]
        return shares[:count]


def function_name(frame: str) -> str:
    """`send (uvicorn/protocols/http/httptools_impl.py)` from a py-spy raw frame."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = _SITE_PACKAGES.sub("", match["file"])
    repo = str(Path(__file__).resolve().parents[1]) + "/"
    path = path.removeprefix(repo)
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
        profile.samples += samples
        for name in {function_name(frame) for frame in stack.split(";")}:
            profile.functions[name] += samples
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
