"""The deployer: whole revisions, one atomic switch, reload check, rollback."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.extensions.asterisk import deploy as deploy_module
from services.extensions.asterisk.deploy import Deployer
from services.extensions.asterisk.render import PJSIP_FILE, expected_endpoints, render_revision
from tests.extensions.asterisk.snapshots import USE_CASE_1, USE_CASE_3
from tests.support.ami_server import FakeAmi
from tests.support.asterisk_conf import by_type, parse_config, pjsip_duplicates

FILES_1 = render_revision(USE_CASE_1)
FILES_3 = render_revision(USE_CASE_3)
ENDPOINTS_1 = expected_endpoints(USE_CASE_1)
ENDPOINTS_3 = expected_endpoints(USE_CASE_3)


def live_files(config_dir: Path) -> dict[str, bytes]:
    live = config_dir / "live"
    return {p.name: p.read_bytes() for p in sorted(live.iterdir())}


@pytest.fixture
def asterisk(tmp_path: Path) -> Iterator[FakeAmi]:
    """A fake Asterisk whose reload loads the endpoints of the live pjsip file."""
    config_dir = tmp_path / "asterisk"

    with FakeAmi(endpoints={"trunk"}) as ami:

        def reload(module: str) -> None:
            if module != "res_pjsip.so":
                return
            path = config_dir / "live" / PJSIP_FILE
            text = path.read_text() if path.exists() else ""
            sections = parse_config(text, allow_duplicate=pjsip_duplicates)
            ami.state.endpoints = {"trunk"} | set(by_type(sections, "endpoint"))

        ami.state.on_reload = reload
        yield ami


def test_without_ami_files_are_written_and_reload_is_skipped(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None)
    outcome = deployer.deploy(1, FILES_1, ENDPOINTS_1)
    assert (outcome.status, outcome.live_revision) == ("reload-skipped", 1)
    assert os.readlink(tmp_path / "live") == "revisions/1"
    assert live_files(tmp_path) == FILES_1
    assert (tmp_path / "live" / PJSIP_FILE).stat().st_mode & 0o777 == 0o640


def test_new_revision_switches_live_and_keeps_the_old_folder(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None)
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    deployer.deploy(2, FILES_3, ENDPOINTS_3)
    assert deployer.live_revision() == 2
    assert live_files(tmp_path) == FILES_3
    assert (tmp_path / "revisions" / "1" / PJSIP_FILE).read_bytes() == FILES_1[PJSIP_FILE]


def test_with_ami_reload_and_endpoint_check_succeed(tmp_path: Path, asterisk: FakeAmi) -> None:
    deployer = Deployer(tmp_path / "asterisk", asterisk.config())
    outcome = deployer.deploy(1, FILES_3, ENDPOINTS_3)
    assert outcome.status == "deployed", outcome.detail
    reloads = [a["Module"] for a in asterisk.state.actions if a["Action"] == "Reload"]
    assert reloads == ["res_pjsip.so", "pbx_config.so", "app_queue.so"]
    assert asterisk.state.endpoints == ENDPOINTS_3 | {"trunk"}


def test_reload_error_rolls_back_to_the_previous_revision(
    tmp_path: Path, asterisk: FakeAmi
) -> None:
    config_dir = tmp_path / "asterisk"
    deployer = Deployer(config_dir, asterisk.config())
    assert deployer.deploy(1, FILES_1, ENDPOINTS_1).status == "deployed"
    asterisk.state.reload_errors["pbx_config.so"] = "Module does not support reloading"
    outcome = deployer.deploy(2, FILES_3, ENDPOINTS_3)
    assert outcome.status == "rolled-back"
    assert outcome.live_revision == 1
    assert "Module does not support reloading" in outcome.detail
    assert "revision 1 is live again" in outcome.detail
    assert live_files(config_dir) == FILES_1


def test_missing_endpoint_after_reload_rolls_back(tmp_path: Path, asterisk: FakeAmi) -> None:
    config_dir = tmp_path / "asterisk"
    deployer = Deployer(config_dir, asterisk.config())
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    loads = asterisk.state.on_reload
    assert loads is not None

    def skips_100_3(module: str) -> None:  # res_pjsip skipping an object it finds invalid
        loads(module)
        asterisk.state.endpoints.discard("100_3")

    asterisk.state.on_reload = skips_100_3
    outcome = deployer.deploy(2, FILES_3, ENDPOINTS_3)
    assert outcome.status == "rolled-back"
    assert "lacks 1 endpoint(s): 100_3" in outcome.detail
    assert deployer.live_revision() == 1
    # Asterisk was reloaded again on the restored files.
    assert asterisk.state.endpoints == ENDPOINTS_1 | {"trunk"}


def test_unreachable_asterisk_rolls_back_and_says_so(tmp_path: Path) -> None:
    with FakeAmi() as ami:
        config = ami.config()
    deployer = Deployer(tmp_path, config)  # the server is gone: connections are refused
    outcome = deployer.deploy(1, FILES_1, ENDPOINTS_1)
    assert outcome.status == "rolled-back"
    assert "cannot connect" in outcome.detail and "reloading it failed too" in outcome.detail
    assert not (tmp_path / "live").exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_write_error_keeps_the_previous_revision_live_without_reload(
    tmp_path: Path, asterisk: FakeAmi, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    config_dir = tmp_path / "asterisk"
    deployer = Deployer(config_dir, asterisk.config())
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    reloads_before = asterisk.state.names().count("Reload")
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # the second file: the first one is already on disk
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(deploy_module.os, "write", failing_write)
    outcome = deployer.deploy(2, FILES_3, ENDPOINTS_3)
    monkeypatch.undo()
    assert outcome.status == "failed"
    assert errno.errorcode[code] in outcome.detail and "nothing reloaded" in outcome.detail
    assert outcome.live_revision == 1
    assert live_files(config_dir) == FILES_1
    assert asterisk.state.names().count("Reload") == reloads_before  # no reload attempted
    assert sorted(p.name for p in (config_dir / "revisions").iterdir()) == ["1"]


def test_failing_switch_keeps_the_previous_revision_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer = Deployer(tmp_path, ami=None)
    deployer.deploy(1, FILES_1, ENDPOINTS_1)

    def no_space(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(deploy_module.os, "symlink", no_space)
    outcome = deployer.deploy(2, FILES_3, ENDPOINTS_3)
    assert (outcome.status, outcome.live_revision) == ("failed", 1)
    assert live_files(tmp_path) == FILES_1
    assert not list(tmp_path.glob(".live-*"))


def test_crash_between_files_leaves_live_on_the_previous_revision(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None)
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    # What a crash half-way through staging revision 2 leaves behind.
    staging = tmp_path / "revisions" / ".staging-2-deadbeef"
    staging.mkdir()
    (staging / PJSIP_FILE).write_bytes(FILES_3[PJSIP_FILE][:100])
    assert deployer.live_revision() == 1
    assert live_files(tmp_path) == FILES_1
    # The next deploy clears the debris and completes normally.
    assert deployer.deploy(2, FILES_3, ENDPOINTS_3).status == "reload-skipped"
    assert not staging.exists()
    assert live_files(tmp_path) == FILES_3


def test_a_stale_folder_of_a_failed_revision_is_replaced(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None)
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    stale = tmp_path / "revisions" / "2"
    stale.mkdir()
    (stale / "junk.conf").write_bytes(b"[junk]\n")
    deployer.deploy(2, FILES_3, ENDPOINTS_3)
    assert live_files(tmp_path) == FILES_3


def test_redeploying_the_live_revision_is_a_harmless_retry(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None)
    deployer.deploy(1, FILES_1, ENDPOINTS_1)
    assert deployer.deploy(1, FILES_1, ENDPOINTS_1).status == "reload-skipped"
    outcome = deployer.deploy(1, FILES_3, ENDPOINTS_3)
    assert outcome.status == "failed" and live_files(tmp_path) == FILES_1


def test_concurrent_deploys_are_serialized_and_the_last_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = {"now": 0, "most": 0}
    guard = threading.Lock()
    real_write_revision = Deployer._write_revision

    def counting(self: Deployer, revision: int, files: dict[str, bytes]) -> None:
        with guard:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        try:
            real_write_revision(self, revision, files)
        finally:
            with guard:
                inside["now"] -= 1

    monkeypatch.setattr(Deployer, "_write_revision", counting)
    # Separate Deployer objects, as separate processes would have; only the flock is shared.
    threads = [
        threading.Thread(target=Deployer(tmp_path, ami=None).deploy, args=(rev, FILES_3, set()))
        for rev in range(1, 9)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inside["most"] == 1
    for rev in range(1, 9):
        folder = tmp_path / "revisions" / str(rev)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == FILES_3
    # Commits that follow one another: the final state is the last commit's.
    Deployer(tmp_path, ami=None).deploy(9, FILES_1, set())
    assert Deployer(tmp_path, ami=None).live_revision() == 9
    assert live_files(tmp_path) == FILES_1


def test_old_revisions_are_pruned_but_never_the_live_one(tmp_path: Path) -> None:
    deployer = Deployer(tmp_path, ami=None, keep_revisions=3)
    for rev in range(1, 7):
        deployer.deploy(rev, FILES_1, ENDPOINTS_1)
    assert sorted(int(p.name) for p in (tmp_path / "revisions").iterdir()) == [4, 5, 6]


def test_file_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Deployer(tmp_path, ami=None).deploy(1, {"../evil.conf": b""}, set())


EMPTY = render_revision(type(USE_CASE_1)(extensions=(), queues=(), settings=USE_CASE_1.settings))


def test_empty_revision_0_makes_the_include_targets_exist_before_any_commit(
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "asterisk"
    deployer = Deployer(config_dir, None)
    assert deployer.ensure_live(EMPTY) is True
    assert deployer.live_revision() == 0
    assert live_files(config_dir) == EMPTY
    for text in EMPTY.values():
        parse_config(text.decode(), allow_duplicate=pjsip_duplicates)
    # Once there is a live revision, a restart leaves it alone.
    assert deployer.deploy(1, FILES_1, ENDPOINTS_1).status == "reload-skipped"
    assert deployer.ensure_live(EMPTY) is False
    assert live_files(config_dir) == FILES_1


def test_a_failed_first_deploy_returns_to_the_empty_revision(
    tmp_path: Path, asterisk: FakeAmi
) -> None:
    config_dir = tmp_path / "asterisk"
    deployer = Deployer(config_dir, asterisk.config())
    deployer.ensure_live(EMPTY)
    asterisk.state.reload_errors["pbx_config.so"] = "Module not initialized"
    outcome = deployer.deploy(1, FILES_1, ENDPOINTS_1)
    assert outcome.status == "rolled-back"
    assert outcome.live_revision == 0
    assert "revision 0 is live again" in outcome.detail
    assert live_files(config_dir) == EMPTY
