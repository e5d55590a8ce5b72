"""Deploy a rendered revision into Asterisk's configuration folder, atomically.

Layout under `config_dir` (documented in docs/asterisk.md):

    revisions/<rev>/pjsip_shareline.conf …   one folder per revision, written whole
    live -> revisions/<rev>                   the symlink Asterisk's #include lines follow
    .deploy.lock                              flock: one deploy at a time, across processes

A revision is staged in a hidden folder (each file: temp file, write, fsync, rename; then
the folder is fsynced) and renamed into `revisions/<rev>`; only then is `live` switched,
by one `os.replace` of a fresh symlink. A crash at any point leaves `live` on the
previous complete revision. With AMI, Asterisk then reloads and must report every
expected endpoint; otherwise `live` is switched back and Asterisk reloaded again.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.extensions.asterisk.ami import AmiClient, AmiConfig, AmiError

log = logging.getLogger("shareline.extensions.deploy")

DeployStatus = Literal["deployed", "reload-skipped", "rolled-back", "failed"]
RELOAD_MODULES = ("res_pjsip.so", "pbx_config.so", "app_queue.so")
KEEP_REVISIONS = 50
FILE_MODE = 0o640  # pjsip_shareline.conf holds SIP passwords: owner and Asterisk's group
DIR_MODE = 0o750
_FILE_NAME = re.compile(r"[a-z0-9_]+\.conf")
_STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class DeployOutcome:
    status: DeployStatus
    detail: str
    live_revision: int | None


class _ReloadProblem(Exception):
    pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "error")
    return f"{name}: {exc.strerror or exc}"


EMPTY_REVISION = 0  # telephony revisions count from 1


class Deployer:
    """Writes revisions under `config_dir` and, when AMI is configured, reloads Asterisk."""

    def __init__(
        self, config_dir: Path, ami: AmiConfig | None, keep_revisions: int = KEEP_REVISIONS
    ) -> None:
        self.config_dir = Path(config_dir)
        self.revisions = self.config_dir / "revisions"
        self.live = self.config_dir / "live"
        self.ami = ami
        self.keep_revisions = keep_revisions

    def live_revision(self) -> int | None:
        """The revision `live` points at, or None before the first deploy."""
        try:
            target = os.readlink(self.live)
        except FileNotFoundError:
            return None
        name = Path(target).name
        return int(name) if name.isdigit() else None

    def deploy(
        self, revision: int, files: dict[str, bytes], expected_endpoints: set[str]
    ) -> DeployOutcome:
        """Write `files` as `revision`, switch `live` to it, reload and verify Asterisk."""
        for name in files:
            if not _FILE_NAME.fullmatch(name):
                raise ValueError(f"not a revision file name: {name!r}")
        with self._locked():
            previous = self.live_revision()
            try:
                self._write_revision(revision, files)
                self._switch(revision)
            except OSError as exc:
                log.error(
                    "deploy of revision %s failed while writing: %s", revision, _describe(exc)
                )
                detail = f"writing revision {revision} failed ({_describe(exc)}); nothing reloaded"
                return DeployOutcome("failed", detail, previous)
            if self.ami is None:
                self._prune()
                return DeployOutcome("reload-skipped", "files written; no AMI configured", revision)
            try:
                detail = self._reload_and_verify(expected_endpoints)
            except _ReloadProblem as problem:
                return self._roll_back(revision, previous, str(problem))
            self._prune()
            return DeployOutcome("deployed", detail, revision)

    def ensure_live(self, empty_files: dict[str, bytes]) -> bool:
        """Before the first commit, make `live` an empty revision 0.

        The administrator's `#include` lines then name files that exist from the
        service's first start on, and a failed first deploy has a revision to return
        to. Nothing is reloaded. Answers whether revision 0 was written.
        """
        with self._locked():
            if self.live_revision() is not None or self.live.exists():
                return False
            self._write_revision(EMPTY_REVISION, empty_files)
            self._switch(EMPTY_REVISION)
            return True

    # --- steps ------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.revisions.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        fd = os.open(self.config_dir / ".deploy.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._remove_stale_staging()
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _remove_stale_staging(self) -> None:
        # Holding the lock, no other deploy is staging: anything left is from a crash.
        for path in self.revisions.glob(_STAGING_PREFIX + "*"):
            shutil.rmtree(path, ignore_errors=True)

    def _write_revision(self, revision: int, files: dict[str, bytes]) -> None:
        target = self.revisions / str(revision)
        if target.exists():
            if revision == self.live_revision():
                if self._same_files(target, files):
                    return  # a retry of the live revision: the files are already there
                raise OSError(errno.EEXIST, f"revision {revision} is live with other files")
            shutil.rmtree(target)  # left over by an earlier failed or rolled-back deploy
        staging = self.revisions / f"{_STAGING_PREFIX}{revision}-{secrets.token_hex(4)}"
        staging.mkdir(mode=DIR_MODE)
        try:
            for name, data in sorted(files.items()):
                _write_file(staging / name, data)
            _fsync_dir(staging)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(self.revisions)

    def _same_files(self, folder: Path, files: dict[str, bytes]) -> bool:
        present = {p.name for p in folder.iterdir()}
        return present == set(files) and all(
            (folder / n).read_bytes() == data for n, data in files.items()
        )

    def _switch(self, revision: int | None) -> None:
        if revision is None:
            self.live.unlink(missing_ok=True)
        else:
            tmp = self.config_dir / f".live-{secrets.token_hex(4)}"
            try:
                os.symlink(Path("revisions") / str(revision), tmp)
                os.replace(tmp, self.live)
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
        try:
            _fsync_dir(self.config_dir)
        except OSError as exc:
            # The switch is already visible to Asterisk; only its durability is in doubt.
            log.warning("could not fsync %s after switching live: %s", self.config_dir, exc)

    def _reload_and_verify(self, expected: set[str]) -> str:
        assert self.ami is not None
        client = AmiClient(self.ami)
        try:
            client.reload(list(RELOAD_MODULES))
            present = client.endpoints()
        except AmiError as exc:
            raise _ReloadProblem(f"reload failed: {exc.detail or exc}") from None
        missing = sorted(expected - present)
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise _ReloadProblem(
                f"after the reload Asterisk lacks {len(missing)} endpoint(s): {shown}"
            )
        return f"reloaded {', '.join(RELOAD_MODULES)}; {len(expected)} endpoints present"

    def _roll_back(self, revision: int, previous: int | None, problem: str) -> DeployOutcome:
        log.error("revision %s rolled back: %s", revision, problem)
        try:
            self._switch(previous)
        except OSError as exc:
            detail = f"{problem}; switching back failed too ({_describe(exc)})"
            return DeployOutcome("failed", f"{detail}; revision {revision} stays live", revision)
        back = (
            f"revision {previous} is live again" if previous is not None else "no revision is live"
        )
        assert self.ami is not None
        try:
            AmiClient(self.ami).reload(list(RELOAD_MODULES))
        except AmiError as exc:
            back += f", but reloading it failed too: {exc.detail or exc}"
        return DeployOutcome("rolled-back", f"{problem}; {back}", previous)

    def _prune(self) -> None:
        live = self.live_revision()
        numbered = sorted(
            (int(p.name) for p in self.revisions.iterdir() if p.name.isdigit()), reverse=True
        )
        for rev in numbered[self.keep_revisions :]:
            if rev != live:
                shutil.rmtree(self.revisions / str(rev), ignore_errors=True)
