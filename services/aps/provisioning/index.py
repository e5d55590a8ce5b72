"""The in-memory index the phone-facing path serves from.

It holds the latest snapshot's files by lowercase name, and each rendered device's
credential hash and enrolment, so a request costs dictionary lookups and no database
work. `refresh` brings it up to the newest revision incrementally: files that opened
or closed since the revision it holds. A background task calls it every second (so a
replica sees another replica's commit); a local commit hands it the rows it just wrote
(`advance`), so the new snapshot is not read back from the database.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Engine, or_
from sqlmodel import Session, col, select

from services.aps.devices.credentials import Sealer
from services.aps.devices.models import Device
from services.aps.provisioning.credentials import ha1
from services.aps.snapshots.models import ApsState, SnapshotFile
from services.common.db import READ, unit_of_work
from services.common.heap import freeze_survivors

if TYPE_CHECKING:
    from services.aps.snapshots.service import Written

log = logging.getLogger("shareline.aps.index")


@dataclass(frozen=True)
class FileEntry:
    name: str
    content: bytes
    content_type: str
    etag: str
    device_id: str | None


@dataclass
class DeviceAccess:
    credential_hash: str
    enrolled: bool
    digest_ha1: str | None = None  # for HTTP Digest; held in memory only
    vendor: str = "unknown"


@dataclass
class ProvisioningIndex:
    sealer: Sealer | None = None  # unseals device credentials for Digest
    revision: int = 0
    files: dict[str, FileEntry] = field(default_factory=dict)
    devices: dict[str, DeviceAccess] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, engine: Engine) -> bool:
        """Catch up with the newest snapshot; True when something changed."""
        with self._lock, unit_of_work(engine, READ) as session:
            latest = (
                session.exec(select(ApsState.latest_revision).where(ApsState.id == 1)).first() or 0
            )
            if latest == self.revision:
                return False
            self._apply(session, self.revision, latest)
            log.info("provisioning index at snapshot %s (%s files)", latest, len(self.files))
            self.revision = latest
            freeze_survivors()
            return True

    def advance(self, engine: Engine, written: Written) -> bool:
        """Take the snapshot a local commit just wrote from its own rows, not the database.

        Only when the index holds the revision right before it; otherwise (another
        replica committed in between, or the index is behind) catch up with `refresh`.
        The outcome is what `refresh` would build from the same rows.
        """
        with self._lock:
            if self.revision == written.revision - 1:
                self._take(written)
                log.info(
                    "provisioning index at snapshot %s (%s files, from the commit)",
                    written.revision,
                    len(self.files),
                )
                self.revision = written.revision
                freeze_survivors()
                return True
        return self.refresh(engine)

    def _take(self, written: Written) -> None:
        # The same end state as `_apply` for these rows: a row opened at the revision
        # wins; a closed row removes the name only while the index still serves that row.
        final: dict[str, FileEntry | None] = {}
        for name, etag, device_id in written.closed:
            entry = self.files.get(name)
            if entry is not None and (entry.etag, entry.device_id) == (etag, device_id):
                final[name] = None
        for row in written.opened:
            final[row["name"]] = FileEntry(
                row["name"], row["content"], row["content_type"], row["etag"], row["device_id"]
            )
        touched = {d for _, _, d in written.closed if d}
        touched.update(row["device_id"] for row in written.opened if row["device_id"])
        for device_id in sorted(touched):
            access = written.devices.get(device_id)
            if access is not None:  # absent: deleted, its files are gone below
                digest = ha1(device_id, access.password) if self.sealer else None
                self.devices[device_id] = DeviceAccess(
                    access.credential_hash, access.enrolled, digest, access.vendor
                )
        for name, new_entry in final.items():
            if new_entry is None:
                self.files.pop(name, None)
            else:
                self.files[name] = new_entry
        present = {e.device_id for e in self.files.values() if e.device_id in touched}
        for gone in touched - present:
            self.devices.pop(gone, None)

    def _apply(self, session: Session, known: int, latest: int) -> None:
        if latest < known:  # the database was reset under us: start over
            self.files.clear()
            self.devices.clear()
            known = 0
        recent: ColumnElement[bool]
        if known == 0:
            recent = col(SnapshotFile.last_revision).is_(None)
        else:
            recent = or_(
                col(SnapshotFile.first_revision) > known,
                col(SnapshotFile.last_revision).between(known, latest - 1),
            )
        rows = session.exec(select(SnapshotFile).where(recent).order_by(col(SnapshotFile.id))).all()
        # Work out the end state first, then switch: a phone never finds a file missing
        # between its old and new version, nor a file whose device is not yet known.
        final: dict[str, FileEntry | None] = {}
        for row in rows:
            if row.first_revision <= latest and (
                row.last_revision is None or row.last_revision >= latest
            ):
                final[row.name] = FileEntry(
                    row.name, row.content, row.content_type, row.etag, row.device_id
                )
            elif row.name not in final:
                entry = self.files.get(row.name)
                if entry is not None and (entry.etag, entry.device_id) == (row.etag, row.device_id):
                    final[row.name] = None
        touched = {row.device_id for row in rows if row.device_id}
        self._load_devices(session, touched)
        for name, new_entry in final.items():
            if new_entry is None:
                self.files.pop(name, None)
            else:
                self.files[name] = new_entry
        present = {e.device_id for e in self.files.values() if e.device_id in touched}
        for gone in touched - present:
            self.devices.pop(gone, None)

    def _load_devices(self, session: Session, device_ids: set[str]) -> None:
        ids = sorted(device_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for device_id, credential_hash, enrolled_at, sealed, vendor in session.exec(
                select(
                    Device.id,
                    Device.credential_hash,
                    Device.enrolled_at,
                    Device.credential_sealed,
                    Device.vendor,
                ).where(col(Device.id).in_(chunk))
            ):
                digest = ha1(device_id, self.sealer.unseal(sealed)) if self.sealer else None
                self.devices[device_id] = DeviceAccess(
                    credential_hash, enrolled_at is not None, digest, vendor
                )

    def lookup(self, name: str) -> FileEntry | None:
        return self.files.get(name)

    def vendor_of(self, entry: FileEntry | None, common_vendors: dict[str, str]) -> str:
        """The vendor a served file belongs to, for metrics ("unknown" for misses)."""
        if entry is None:
            return "unknown"
        if entry.device_id is None:
            return common_vendors.get(entry.name, "unknown")
        access = self.devices.get(entry.device_id)
        return access.vendor if access else "unknown"
