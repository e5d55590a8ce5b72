"""Telephony commits: render the pending state into an immutable revision and deploy it.

One commit at a time, on every database and across replicas: a commit first updates the
single `ext_commit_lock` row (a row lock on PostgreSQL; SQLite already holds its write
lock from `BEGIN IMMEDIATE`), so two concurrent commits run one after the other and the
last one's state is what stays live. Deploying happens inside that transaction for the
same reason: revisions reach Asterisk in the order they are numbered.

The current revision is the newest one whose deploy succeeded (`deployed`, or
`reload-skipped` when no AMI is configured); that is the committed state APS reads.
A rollback stores a new revision carrying an older revision's files byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from services.common.errors import NotFound
from services.common.metrics import Metrics
from services.extensions import audit
from services.extensions.asterisk.deploy import Deployer
from services.extensions.asterisk.render import expected_endpoints, render_revision
from services.extensions.settings import Settings
from services.extensions.tables import CommitLock, Revision, RevisionFile, utcnow
from services.extensions.telephony import stored_files
from services.extensions.telephony.collector import collector_paused
from services.extensions.telephony.state import State, build_state, canonical_json, snapshot_of

GOOD_DEPLOYS = ("deployed", "reload-skipped")
# A revision's state document is 40 MB at 100,000 extensions: read it only where it is
# used, not with every revision a commit compares against or a listing shows.
_STATE_ON_ACCESS = defer(cast("QueryableAttribute[Any]", Revision.state_json))


class RevisionNotFound(NotFound):
    slug, title = "revision-not-found", "Revision not found"


class RevisionFileNotFound(NotFound):
    slug, title = "revision-file-not-found", "Revision file not found"


@dataclass(frozen=True)
class CommitOutcome:
    revision: Revision
    changed: bool
    # The revision's files, byte for byte (for an unchanged commit, the current
    # revision's): answering from them spares reading 250 MB back at 100,000 extensions.
    files: dict[str, bytes]
    # Their SHA-256 digests when the commit already computed them (on its worker threads).
    digests: dict[str, str] | None = None


def content_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over every file's name, length and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    return digest.hexdigest()


def ensure_lock_row(engine: Engine) -> None:
    with Session(engine) as session:
        if session.get(CommitLock, 1) is None:
            session.add(CommitLock(id=1))
            try:
                session.commit()
            except IntegrityError:  # another replica created it first
                session.rollback()


def current_revision(session: Session) -> Revision | None:
    return session.exec(
        select(Revision)
        .options(_STATE_ON_ACCESS)
        .where(col(Revision.deploy_status).in_(GOOD_DEPLOYS))
        .order_by(col(Revision.rev).desc())
        .limit(1)
    ).first()


def committed_state(session: Session) -> tuple[Revision | None, State | None]:
    revision = current_revision(session)
    if revision is None:
        return None, None
    state: State = json.loads(revision.state_json)
    return revision, state


def get_revision(session: Session, rev: int) -> Revision:
    revision = session.get(Revision, rev)
    if revision is None:
        raise RevisionNotFound(f"telephony revision {rev} does not exist")
    return revision


def revision_files(session: Session, rev: int) -> dict[str, bytes]:
    rows = session.exec(
        select(RevisionFile).where(RevisionFile.rev == rev).order_by(col(RevisionFile.name))
    ).all()
    return {row.name: stored_files.decode(row.content) for row in rows}


def revision_file(session: Session, rev: int, name: str) -> bytes:
    get_revision(session, rev)
    row = session.get(RevisionFile, (rev, name))
    if row is None:
        raise RevisionFileNotFound(f"revision {rev} has no file named {name!r}")
    return stored_files.decode(row.content)


def list_revisions(session: Session, limit: int, offset: int) -> list[Revision]:
    return list(
        session.exec(
            select(Revision)
            .options(_STATE_ON_ACCESS)
            .order_by(col(Revision.rev).desc())
            .limit(limit)
            .offset(offset)
        ).all()
    )


class Committer:
    """Serialized commit and rollback against one config directory."""

    def __init__(self, settings: Settings, deployer: Deployer, metrics: Metrics) -> None:
        self.settings = settings
        self.deployer = deployer
        self.metrics = metrics

    def commit(self, session: Session, actor: str) -> CommitOutcome:
        started = time.perf_counter()
        with collector_paused():
            outcome = self._commit(session, actor)
        self.metrics.commit_seconds.labels(kind="telephony").observe(time.perf_counter() - started)
        return outcome

    def rollback(self, session: Session, rev: int, actor: str) -> CommitOutcome:
        with collector_paused():
            return self._rollback(session, rev, actor)

    # What these two build dies with their frames, inside the paused section: objects
    # still alive when the collector resumes would all be scanned by its next collection.

    def _commit(self, session: Session, actor: str) -> CommitOutcome:
        _take_lock(session, actor)
        state = build_state(session, self.settings)
        snapshot = snapshot_of(state)
        with self.metrics.render_seconds.time():
            files = render_revision(snapshot)
        return self._store_and_deploy(
            session, actor, state, files, expected_endpoints(snapshot), kind="commit"
        )

    def _rollback(self, session: Session, rev: int, actor: str) -> CommitOutcome:
        _take_lock(session, actor)
        source = get_revision(session, rev)
        state: State = json.loads(source.state_json)
        files = revision_files(session, rev)
        endpoints = expected_endpoints(snapshot_of(state))
        return self._store_and_deploy(
            session, actor, state, files, endpoints, kind="rollback", source_rev=rev
        )

    def _store_and_deploy(
        self,
        session: Session,
        actor: str,
        state: State,
        files: dict[str, bytes],
        endpoints: set[str],
        *,
        kind: str,
        source_rev: int | None = None,
    ) -> CommitOutcome:
        digest = content_hash(files)
        current = current_revision(session)
        if current is not None and current.content_hash == digest:
            # Byte-identical output: no revision, no write, no reload.
            return CommitOutcome(current, changed=False, files=files)
        with stored_files.encoding(files) as encoded:
            revision = Revision(
                rev=_next_rev(session),
                content_hash=digest,
                state_json=canonical_json(state),
                committed_by=actor,
                committed_at=utcnow(),
                kind=kind,
                source_rev=source_rev,
            )
            session.add(revision)
            session.flush()
            results = encoded()
            for name, result in sorted(results.items()):
                session.add(RevisionFile(rev=revision.rev, name=name, content=result.stored))
            session.flush()
        deployed = self.deployer.deploy(revision.rev, files, endpoints)
        revision.deploy_status = deployed.status
        revision.deploy_detail = deployed.detail
        session.add(revision)
        target = f"revision {revision.rev}"
        detail = f"{kind} {deployed.status}" + (f" of revision {source_rev}" if source_rev else "")
        audit.record(session, actor, f"telephony.{kind}", target, detail)
        digests = {name: result.sha256 for name, result in results.items()}
        return CommitOutcome(revision, changed=True, files=files, digests=digests)


def _take_lock(session: Session, actor: str) -> None:
    session.exec(
        update(CommitLock)
        .where(col(CommitLock.id) == 1)
        .values(holder=actor[:200], locked_at=utcnow())
    )


def _next_rev(session: Session) -> int:
    latest = session.exec(select(Revision.rev).order_by(col(Revision.rev).desc()).limit(1)).first()
    return (latest or 0) + 1


def revision_summary(
    revision: Revision, files: dict[str, bytes] | None = None, digests: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the API shows of a revision; with `files`, their sizes and SHA-256 digests
    (taken from `digests` where given)."""
    out: dict[str, Any] = {
        "revision": revision.rev,
        "content_hash": revision.content_hash,
        "committed_by": revision.committed_by,
        "committed_at": revision.committed_at,
        "kind": revision.kind,
        "source_revision": revision.source_rev,
        "deploy": {"status": revision.deploy_status, "detail": revision.deploy_detail},
    }
    if files is not None:
        known = digests or {}
        out["files"] = [
            {"name": n, "size": len(c), "sha256": known.get(n) or hashlib.sha256(c).hexdigest()}
            for n, c in sorted(files.items())
        ]
    return out


def outcome_summary(outcome: CommitOutcome) -> dict[str, Any]:
    """`revision_summary` of a commit's or rollback's revision, from what it rendered."""
    return revision_summary(outcome.revision, outcome.files, outcome.digests)
