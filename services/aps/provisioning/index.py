"""The in-memory index the phone-facing path serves from.

It holds the latest snapshot's files by lowercase name, and each rendered device's
credential hash and enrolment, so a request costs dictionary lookups and no database
work. `refresh` brings it up to the newest revision incrementally: files that opened
or closed since the revision it holds. A background task calls it every second (so a
replica sees another replica's commit), and a local commit calls it at once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Engine, or_
from sqlmodel import Session, col, select

from services.aps.devices.credentials import Sealer
from services.aps.devices.models import Device
from services.aps.provisioning.credentials import ha1
from services.aps.snapshots.models import ApsState, SnapshotFile
from services.common.db import READ, unit_of_work
from services.common.heap import freeze_survivors

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
