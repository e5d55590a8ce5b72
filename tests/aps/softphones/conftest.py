from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from services.aps.app import create_app
from services.aps.settings import Settings
from services.aps.softphones.runtime import Softphones
from services.common.service_tokens import issue
from services.common.settings import LOCAL_SERVICE_SECRET
from tests.aps.softphones.support import (
    Clock,
    FakeExtensions,
    FakeLicensing,
    add_device,
    commit_aps,
)
from tests.support.databases import make_database_url

PUBLIC = "https://pbx.example.com:8443"


@dataclass
class Aps:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    extensions: FakeExtensions
    licensing: FakeLicensing
    clock: Clock

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    @property
    def runtime(self) -> Softphones:
        runtime: Softphones = self.app.state.softphones
        return runtime

    def softphone(
        self,
        device_id: str = "sp-00000000000000000001",
        auth_name: str = "100_2",
        *,
        commit: bool = True,
    ) -> str:
        add_device(self.engine, device_id, auth_name)
        if commit:
            commit_aps(self.engine, self.settings, self.extensions.document)
        return device_id


def token_headers(user: str = "admin") -> dict[str, str]:
    token = issue(LOCAL_SERVICE_SECRET, issuer="gateway", audience="aps", user=user, role="admin")
    return {"X-Service-Token": token}


@pytest.fixture
async def aps(
    tmp_path: Path,
    lifespan_client: Callable[..., Awaitable[httpx.AsyncClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Aps]:
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(f"SHARELINE_{name}", raising=False)
    settings = Settings(
        data_dir=tmp_path,
        aps_database_url=make_database_url(tmp_path, "aps"),
        public_base_url=PUBLIC,
        log_json=True,
    )
    extensions, clock = FakeExtensions(), Clock()
    app = create_app(settings, extensions=extensions.client(settings))
    client = await lifespan_client(app, headers=token_headers())
    runtime: Softphones = app.state.softphones
    runtime.clock = clock
    licensing = FakeLicensing()
    runtime.licensing.close()
    runtime.licensing = licensing.client(settings)
    yield Aps(app, client, settings, extensions, licensing, clock)
