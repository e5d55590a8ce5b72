"""What the figures were measured on, and how much memory each service took."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_total_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def describe() -> dict[str, str]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "nproc": str(os.cpu_count() or 0),
        "memory": f"{memory_total_mib()} MiB",
        "cpu": cpu_model(),
        "load average at start": load,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM over from the current RSS (Linux: clear_refs 5), so the next reading
    is the peak of what follows, not of start-up and earlier commits."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
