"""`make run`'s launcher: the four services under honcho, and the way in printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.suite import REPO, free_port

pytestmark = pytest.mark.e2e


def test_launcher_starts_the_suite_prints_the_way_in_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("gateway", "extensions", "licensing", "aps")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
    env["SHARELINE_DATA_DIR"] = str(tmp_path / "var")
    for name, port in ports.items():
        env[f"SHARELINE_{name.upper()}_PORT"] = str(port)
        if name != "gateway":
            env[f"SHARELINE_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
    out = (tmp_path / "out.log").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.launcher"],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(gateway + "/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, Path(out.name).read_text()
        printed = Path(out.name).read_text()
        assert f"Gateway:   {gateway}/" in printed
        assert f"{gateway}/docs" in printed
        password = re.search(r"Admin:\s+admin / (\S+)", printed).group(1)
        login = httpx.post(
            gateway + "/api/v1/auth/token", data={"username": "admin", "password": password}
        )
        assert login.status_code == 200
        docs = httpx.get(gateway + "/openapi.json").json()
        assert "/api/v1/extensions" in docs["paths"]
        assert "/api/v1/license" in docs["paths"]
        assert "/api/v1/aps/devices" in docs["paths"]
        # The secrets are kept for the next start, private to their owner.
        local_env = tmp_path / "var" / "local.env"
        assert oct(local_env.stat().st_mode & 0o777) == "0o600"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=30)
    time.sleep(0.5)
    for port in ports.values():
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
