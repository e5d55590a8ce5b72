"""Real processes in production mode: they refuse a stale database, start once migrated.

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


def _environment(tmp_path: Path, databases: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each service's environment; the migration job's is the union of them."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
    filled = {}
    for service in MODULES:
        manifest = k8s_environment(k8s_named("Deployment")[f"shareline-{service}"])
        env = dict(base)
        env.update({k: v.replace("REPLACE-ME", _SECRETS[k]) for k, v in manifest.items()})
        env.update(
            {
                "SHARELINE_HOST": "127.0.0.1",
                "SHARELINE_DATA_DIR": str(tmp_path / service),
                "SHARELINE_ASTERISK_CONFIG_DIR": str(tmp_path / service / "asterisk"),
                f"SHARELINE_{service.upper()}_DATABASE_URL": databases[service],
                "PYTHONUNBUFFERED": "1",
            }
        )
        filled[service] = env
    filled["migrate"] = {k: v for env in filled.values() for k, v in env.items()}
    return filled


class _Secrets(dict[str, str]):
    """One random value per secret name, the same for every process (like one Secret)."""

    def __missing__(self, key: str) -> str:
        self[key] = secrets.token_urlsafe(36)
        return self[key]


_SECRETS = _Secrets()


def _run(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"never healthy: {log.read_text()[-2000:]}")


def test_services_refuse_unmigrated_databases_then_start_after_make_migrate(tmp_path) -> None:
    for service in MODULES:
        assert head_revision(service) is not None, f"{service} has no migrations yet"
    databases = {service: make_database_url(tmp_path, service) for service in MODULES}
    envs = _environment(tmp_path, databases)
    ports = {service: free_port() for service in MODULES}
    logs = {service: tmp_path / f"{service}.log" for service in MODULES}

    def command(service: str) -> list[str]:
        return ["-m", MODULES[service], "--port", str(ports[service])]

    refused = {s: _run(command(s), envs[s], logs[s]) for s in MODULES}
    for service, proc in refused.items():
        assert proc.wait(timeout=60) != 0, service
        text = logs[service].read_text()
        assert "refusing to start" in text and "deploy.migrate" in text, text[-2000:]
        assert envs[service]["SHARELINE_SERVICE_TOKEN_SECRET"] not in text

    migrate = _run(["-m", "deploy.migrate", "upgrade"], envs["migrate"], tmp_path / "migrate.log")
    assert migrate.wait(timeout=120) == 0, (tmp_path / "migrate.log").read_text()

    started = {s: _run(command(s), envs[s], logs[s]) for s in MODULES}
    try:
        for service, proc in started.items():
            _wait_healthy(proc, ports[service], logs[service])
        for service in ("extensions", "licensing", "aps"):
            ready = httpx.get(f"http://127.0.0.1:{ports[service]}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
    finally:
        for proc in started.values():
            proc.terminate()
        for proc in started.values():
            proc.wait(timeout=10)
