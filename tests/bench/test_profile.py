"""The bench's profiles: py-spy's collapsed stacks folded into per-function shares."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.profile import Profile, function_name, profiled, summarise
from bench.report import Report, render

ENTRY = "_run_code (<frozen runpy>:88);serve (/repo/services/common/serve.py:25)"
UVICORN = "/x/.venv/lib/python3.11/site-packages/uvicorn/protocols/http/httptools_impl.py"
RAW = "\n".join(
    [
        f"{ENTRY};send ({UVICORN}:524) 60",
        f"{ENTRY};send ({UVICORN}:551) 20",
        f"{ENTRY};log_access (/repo/services/common/middleware.py:60);"
        "info (/usr/lib/python3.11/logging/__init__.py:1489) 20",
    ]
)

BUSY = """
import time
def render_phone_files():
    total = 0
    for i in range(20000):
        total += i * i
    return total
def hash_phone_files():
    total = 0
    for i in range(20000):
        total ^= i * 7
    return total
print("ready", flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    render_phone_files()
    hash_phone_files()
"""


def test_running_counts_innermost_frames_and_our_code_counts_our_functions_inclusive() -> None:
    profile = summarise("gateway", RAW)
    assert profile.samples == 100
    # Two lines of one function are one row.
    assert dict((name, share) for share, name in profile.top_running()) == {
        "send (uvicorn/protocols/http/httptools_impl.py)": 0.8,
        "info (logging/__init__.py)": 0.2,
    }
    # The process entry (serve) is on every stack and says nothing: not listed.
    assert profile.top_own() == [(0.2, "log_access (services/common/middleware.py)")]


def test_function_names_lose_their_install_prefix_and_line() -> None:
    frame = "request (/work/main/.venv/lib/python3.11/site-packages/httpx/_client.py:79)"
    assert function_name(frame) == "request (httpx/_client.py)"


def test_a_real_process_is_sampled_and_its_time_split_between_its_functions(tmp_path: Path) -> None:
    busy = subprocess.Popen(
        [sys.executable, "-c", BUSY], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert busy.stdout is not None and busy.stdout.readline().strip() == b"ready"
        with profiled({"renderer": busy.pid}, tmp_path) as profiles:
            time.sleep(1.5)
    finally:
        busy.kill()
        busy.wait()
    (profile,) = profiles
    if "permission" in profile.problem.lower():
        pytest.skip(f"py-spy may not attach here: {profile.problem}")
    assert profile.problem == "" and profile.samples > 50
    shares = {name.split(" ")[0]: share for share, name in profile.top_running()}
    assert 0.25 < shares.get("render_phone_files", 0) < 0.75
    assert 0.25 < shares.get("hash_phone_files", 0) < 0.75


def test_the_report_carries_each_phase_profile_or_why_there_is_none() -> None:
    report = Report(command="python -m bench", machine={})
    report.add_profiles(
        "Boot storm", [summarise("gateway", RAW), Profile("aps", problem="no samples")]
    )
    text = render(report, 1.0, notes="")
    assert "### Boot storm: gateway" in text
    assert "| 80% | `send (uvicorn/protocols/http/httptools_impl.py)` |" in text
    assert "| 20% | `log_access (services/common/middleware.py)` |" in text
    assert "### Boot storm: aps\n\nNo profile: no samples." in text
