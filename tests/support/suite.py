"""Start the four ShareLine processes for end-to-end tests, on free ports.

Each process is a real `python -m <module>` under uvicorn with its own data folder;
tests talk to the gateway over real HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.common.service_tokens import issue
from tests.support.admin import (
    SUITE_ADMIN_PASSWORD,
    SUITE_ADMIN_TOKEN_SECRET,
    SUITE_ADMIN_USERNAME,
    admin_client,
)
from tests.support.databases import make_database_url, postgres_admin_url

__all__ = ["SUITE_ADMIN_PASSWORD", "SUITE_ADMIN_TOKEN_SECRET", "SUITE_ADMIN_USERNAME", "Suite"]

MODULES = {
    "gateway": "gateway",
    "extensions": "services.extensions",
    "licensing": "services.licensing",
    "aps": "services.aps",
}
SECRET = "e2e-service-token-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Suite:
    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    database_urls: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = self.ports or {name: free_port() for name in MODULES}
        if postgres_admin_url() and not self.database_urls:
            self.database_urls = {n: make_database_url(self.root, n) for n in MODULES}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
        env.update(
            {
                "SHARELINE_MODE": "local",
                "SHARELINE_DATA_DIR": str(self.root / "data"),
                "SHARELINE_SERVICE_TOKEN_SECRET": SECRET,
                "SHARELINE_ADMIN_USERNAME": SUITE_ADMIN_USERNAME,
                "SHARELINE_ADMIN_PASSWORD": SUITE_ADMIN_PASSWORD,
                "SHARELINE_ADMIN_TOKEN_SECRET": SUITE_ADMIN_TOKEN_SECRET,
                "SHARELINE_LOG_JSON": "true",
                "SHARELINE_PUBLIC_BASE_URL": self.gateway,
                "SHARELINE_EXTENSIONS_URL": self.url("extensions"),
                "SHARELINE_LICENSING_URL": self.url("licensing"),
                "SHARELINE_APS_URL": self.url("aps"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for service, url in self.database_urls.items():
            env[f"SHARELINE_{service.upper()}_DATABASE_URL"] = url
        env.update(self.extra_env)
        return env

    def log_path(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def start(self, name: str, *, wait: bool = True) -> None:
        log = self.log_path(name).open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", MODULES[name], "--port", str(self.ports[name])],
            cwd=REPO,
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_healthy(name)

    def start_all(self) -> None:
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        for name in ("licensing", "extensions", "aps", "gateway"):
            self.start(name, wait=False)
        for name in MODULES:
            self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log_path(name).read_text()[-3000:]}")
            try:
                if httpx.get(self.url(name) + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not become healthy: {self.log_path(name).read_text()}")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self, name: str) -> None:
        self.stop(name, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def service_token(self, audience: str, issuer: str = "gateway", **claims: str) -> str:
        return issue(SECRET, issuer=issuer, audience=audience, **claims)  # type: ignore[arg-type]

    def admin_client(
        self,
        username: str = SUITE_ADMIN_USERNAME,
        password: str = SUITE_ADMIN_PASSWORD,
        **kwargs: object,
    ) -> httpx.Client:
        """An httpx.Client on the gateway that logs in and sends a bearer token."""
        return admin_client(self.gateway, username, password, **kwargs)

    def logs(self) -> str:
        return "\n".join(
            self.log_path(n).read_text(errors="replace")
            for n in MODULES
            if self.log_path(n).exists()
        )
