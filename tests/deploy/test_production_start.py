"""A real process in production mode: refuses a stale database, starts once migrated.

The environment is the Kubernetes base's, with its placeholders filled in and addresses
pointed at this machine, so this also proves the manifests' values start a service.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.common.migrations import head_revision
from tests.deploy.manifests import MODULES, k8s_environment, k8s_named
from tests.support.databases import make_database_url
from tests.support.suite import REPO, free_port

pytestmark = pytest.mark.e2e


def _environment(service: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
    manifest = k8s_environment(k8s_named("Deployment")[f"shareline-{service}"])
    env.update({k: v.replace("REPLACE-ME", secrets.token_urlsafe(36)) for k, v in manifest.items()})
    env.update(
        {
            "SHARELINE_HOST": "127.0.0.1",
            "SHARELINE_DATA_DIR": str(tmp_path),
            "SHARELINE_ASTERISK_CONFIG_DIR": str(tmp_path / "asterisk"),
            f"SHARELINE_{service.upper()}_DATABASE_URL": make_database_url(tmp_path, service),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"never healthy: {log.read_text()[-2000:]}")


def test_gateway_refuses_an_unmigrated_database_then_starts_after_make_migrate(
    tmp_path,
) -> None:
    service = "gateway"
    assert head_revision(service) is not None, "the gateway has migrations"
    env, log, port = _environment(service, tmp_path), tmp_path / "process.log", free_port()
    command = ["-m", MODULES[service], "--port", str(port)]

    refused = _run(command, env, log)
    assert refused.wait(timeout=30) != 0
    text = log.read_text()
    assert "refusing to start" in text and "deploy.migrate" in text
    assert env["SHARELINE_SERVICE_TOKEN_SECRET"] not in text

    migrate = _run(["-m", "deploy.migrate", "upgrade", "-s", service], env, log)
    assert migrate.wait(timeout=60) == 0

    started = _run(command, env, log)
    try:
        _wait_healthy(started, port, log)
        # Ready needs the other services, which this test does not start.
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        assert ready["checks"]["services"]["ok"] is False
    finally:
        started.terminate()
        started.wait(timeout=10)
