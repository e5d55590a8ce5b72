# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
"""SECURITY.md catalogue, "Deploy": faults while a telephony commit deploys, through the
extensions API (the deployer's own tests in tests/extensions/asterisk/test_deploy.py go
further into each step; a process killed mid-commit is in test_faults.py).
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.extensions.asterisk import deploy as deploy_module
from services.extensions.asterisk.deploy import Deployer
from services.extensions.asterisk.render import PJSIP_FILE
from tests.extensions.conftest import extension_body, licensing, make_api  # noqa: F401
from tests.support.ami_server import FakeAmi
from tests.support.asterisk_conf import by_type, parse_config, pjsip_duplicates

PROBLEM = "application/problem+json"


def _live(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((tmp_path / "asterisk" / "live").iterdir())}


def _live_endpoints(tmp_path: Path) -> set[str]:
    text = (tmp_path / "asterisk" / "live" / PJSIP_FILE).read_text()
    return set(by_type(parse_config(text, allow_duplicate=pjsip_duplicates), "endpoint"))


@pytest.fixture
def asterisk(tmp_path: Path) -> Iterator[FakeAmi]:
    """A fake Asterisk whose PJSIP reload loads the endpoints of the live file."""
    with FakeAmi(endpoints=set()) as ami:

        def reload(module: str) -> None:
            if module == "res_pjsip.so":
                ami.state.endpoints = _live_endpoints(tmp_path)

        ami.state.on_reload = reload
        yield ami


async def _api(make_api: Any, ami: FakeAmi) -> httpx.AsyncClient:
    config = ami.config()
    return await make_api(  # type: ignore[no-any-return]
        ami_host=config.host,
        ami_port=config.port,
        ami_username=config.username,
        ami_secret=config.secret,
    )


async def _commit(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post("/api/v1/telephony/commits")
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _current(api: httpx.AsyncClient) -> int:
    return int((await api.get("/api/v1/telephony/commits")).json()["current_revision"])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["enospc", "eio"])
async def test_write_error_keeps_the_previous_revision_live_without_reload(
    make_api: Any, asterisk: FakeAmi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    api = await _api(make_api, asterisk)
    assert (await api.post("/api/v1/extensions", json=extension_body())).status_code == 201
    assert (await _commit(api))["revision"]["deploy"]["status"] == "deployed"
    before, reloads = _live(tmp_path), asterisk.state.names().count("Reload")
    assert (await api.post("/api/v1/extensions", json=extension_body("101"))).status_code == 201
    real_write, writes = os.write, []

    def failing(fd: int, data: bytes) -> int:
        writes.append(fd)
        if len(writes) == 2:  # the second file: the first one is already on disk
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(deploy_module.os, "write", failing)
    result = await _commit(api)
    monkeypatch.undo()
    deploy = result["revision"]["deploy"]
    assert deploy["status"] == "failed"
    assert errno.errorcode[code] in deploy["detail"]
    assert _live(tmp_path) == before
    assert asterisk.state.names().count("Reload") == reloads, "nothing reloaded"
    assert await _current(api) == 1
    assert (await api.get("/api/v1/telephony/changes")).json()["extensions"]["added"] == ["101"]


async def test_crash_between_the_two_files_leaves_the_previous_revision_live(
    make_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api()
    assert (await api.post("/api/v1/extensions", json=extension_body())).status_code == 201
    await _commit(api)
    before = _live(tmp_path)
    assert (await api.post("/api/v1/extensions", json=extension_body("101"))).status_code == 201
    real = Deployer._write_revision

    def dies_after_the_first_file(self: Deployer, revision: int, files: dict[str, bytes]) -> None:
        first = dict(list(files.items())[:1])
        real(self, revision, first)  # the first file reaches the disk, then the process dies
        raise SystemExit("killed between the files")

    monkeypatch.setattr(Deployer, "_write_revision", dies_after_the_first_file)
    with pytest.raises(BaseException, match="killed between the files"):
        await api.post("/api/v1/telephony/commits")
    monkeypatch.undo()
    assert _live(tmp_path) == before
    assert _live_endpoints(tmp_path) == {"100"}


async def test_reload_error_rolls_back_automatically(
    make_api: Any, asterisk: FakeAmi, tmp_path: Path
) -> None:
    api = await _api(make_api, asterisk)
    assert (await api.post("/api/v1/extensions", json=extension_body())).status_code == 201
    await _commit(api)
    before = _live(tmp_path)
    assert (await api.post("/api/v1/extensions", json=extension_body("101"))).status_code == 201
    asterisk.state.reload_errors["pbx_config.so"] = "Module does not support reloading"
    deploy = (await _commit(api))["revision"]["deploy"]
    assert deploy["status"] == "rolled-back"
    assert _live(tmp_path) == before and await _current(api) == 1


async def test_a_missing_endpoint_after_reload_rolls_back_automatically(
    make_api: Any, asterisk: FakeAmi, tmp_path: Path
) -> None:
    api = await _api(make_api, asterisk)
    assert (await api.post("/api/v1/extensions", json=extension_body())).status_code == 201
    await _commit(api)
    before = _live(tmp_path)
    loads = asterisk.state.on_reload
    assert loads is not None

    def skips_101(module: str) -> None:  # res_pjsip skipping an object it finds invalid
        loads(module)
        asterisk.state.endpoints.discard("101")

    asterisk.state.on_reload = skips_101
    assert (await api.post("/api/v1/extensions", json=extension_body("101"))).status_code == 201
    deploy = (await _commit(api))["revision"]["deploy"]
    assert deploy["status"] == "rolled-back" and "101" in deploy["detail"]
    assert _live(tmp_path) == before and await _current(api) == 1
    assert asterisk.state.endpoints == {"100"}, "Asterisk reloaded the restored files"


async def test_two_commits_at_once_are_serialized_and_the_last_state_is_live(
    make_api: Any, tmp_path: Path
) -> None:
    api = await make_api()
    for number in ("100", "101"):
        assert (
            await api.post("/api/v1/extensions", json=extension_body(number))
        ).status_code == 201
    answers = await asyncio.gather(*(api.post("/api/v1/telephony/commits") for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201], "one commit, one no-change"
    assert await _current(api) == 1
    assert _live_endpoints(tmp_path) == {"100", "101"}
    listed = (await api.get("/api/v1/telephony/commits")).json()
    assert len(listed["items"]) == 1
