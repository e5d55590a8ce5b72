"""The in-memory index the phone-facing path serves from.

It holds the latest snapshot's files by lowercase name, and each rendered device's
credential hash and enrolment, so a request costs dictionary lookups and no database
work. `refresh` brings it up to the newest revision incrementally: files that opened
or closed since the revision it holds. A background task calls it every second (so a
replica sees another replica's commit); a local commit hands it the rows it just wrote
(`advance`), so the new snapshot is not read back from the database.

Memory: 10,000 devices' files are ~26 MB of text that differs from phone to phone mostly
in names, numbers and secrets. Shortly after each change the index deflates every device
file against a sibling of the same vendor and name pattern (a zlib preset dictionary),
which keeps ~3-4 MB; answering 200 inflates it again (a few µs), a 304 never does.
"""

from __future__ import annotations

import logging
import sys
import threading
import zlib
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
from services.common.memory import WORTH_RELEASING, release_freed_memory_soon

if TYPE_CHECKING:
    from services.aps.snapshots.service import Written

log = logging.getLogger("shareline.aps.index")


_RAW_DEFLATE = -15  # no zlib header or checksum: the ETag already names the content
_PACK_BATCH = 500  # files deflated per hold of the index lock


class FileEntry:
    """One file of the snapshot as phones get it: `content` is the bytes to send."""

    __slots__ = ("_dictionary", "_stored", "content_type", "device_id", "etag", "name")

    def __init__(
        self, name: str, content: bytes, content_type: str, etag: str, device_id: str | None
    ) -> None:
        self.name = name
        self.content_type = sys.intern(content_type)
        self.etag = etag
        self.device_id = sys.intern(device_id) if device_id is not None else None
        self._stored = content
        self._dictionary: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._dictionary is None:
            return self._stored
        inflater = zlib.decompressobj(_RAW_DEFLATE, zdict=self._dictionary)
        return inflater.decompress(self._stored) + inflater.flush()

    @property
    def packed(self) -> bool:
        return self._dictionary is not None

    def packed_against(self, dictionary: bytes) -> FileEntry:
        """The same file, kept deflated with `dictionary` as zlib's preset dictionary."""
        deflater = zlib.compressobj(6, zlib.DEFLATED, _RAW_DEFLATE, zdict=dictionary)
        packed = FileEntry(self.name, b"", self.content_type, self.etag, self.device_id)
        packed._stored = deflater.compress(self._stored) + deflater.flush()
        packed._dictionary = dictionary
        return packed

    def __repr__(self) -> str:
        return f"FileEntry({self.name!r}, etag={self.etag!r}, device_id={self.device_id!r})"


@dataclass(slots=True)
class DeviceAccess:
    credential_hash: str
    enrolled: bool
    digest_ha1: str | None = None  # for HTTP Digest; held in memory only
    vendor: str = "unknown"

    def __post_init__(self) -> None:
        self.vendor = sys.intern(self.vendor)


@dataclass
class ProvisioningIndex:
    sealer: Sealer | None = None  # unseals device credentials for Digest
    revision: int = 0
    files: dict[str, FileEntry] = field(default_factory=dict)
    devices: dict[str, DeviceAccess] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # One preset dictionary per vendor and file name pattern: the first such file seen.
    # Kept for good: packed entries refer to it.
    _dictionaries: dict[tuple[str, str], bytes] = field(default_factory=dict)
    _pack_state: threading.Lock = field(default_factory=threading.Lock)
    _pack_wanted: bool = False
    _packer_running: bool = False

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
        self.pack_soon()
        return True

    def advance(self, engine: Engine, written: Written) -> bool:
        """Take the snapshot a local commit just wrote from its own rows, not the database.

        Only when the index holds the revision right before it; otherwise (another
        replica committed in between, or the index is behind) catch up with `refresh`.
        The outcome is what `refresh` would build from the same rows.
        """
        with self._lock:
            follows = self.revision == written.revision - 1
            if follows:
                self._take(written)
                log.info(
                    "provisioning index at snapshot %s (%s files, from the commit)",
                    written.revision,
                    len(self.files),
                )
                self.revision = written.revision
                freeze_survivors()
        if not follows:
            return self.refresh(engine)
        self.pack_soon()
        return True

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
        self._switch(final, touched)

    def _switch(self, final: dict[str, FileEntry | None], touched: set[str]) -> None:
        """Put the worked-out end state in place; forget devices left without files."""
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
        self._switch(final, touched)

    def _load_devices(self, session: Session, device_ids: set[str]) -> None:
        ids = sorted(device_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for device_id, credential_hash, enrolled_at, sealed, vendor in session.exec(
                select(  # type: ignore[call-overload]  # sqlmodel types up to four columns
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

    def pack_soon(self) -> None:
        """Deflate the new files (`pack`) on a thread of its own, then trim the heap."""
        with self._pack_state:
            self._pack_wanted = True
            if self._packer_running:
                return  # it sees the flag and packs once more
            self._packer_running = True
        threading.Thread(target=self._packer, name="aps-index-pack", daemon=True).start()

    def _packer(self) -> None:
        packed = 0
        while True:
            with self._pack_state:
                if not self._pack_wanted:
                    self._packer_running = False
                    break
                self._pack_wanted = False
            try:
                packed += self.pack()
            except Exception:  # unpacked files are served as they are; nothing is lost
                log.exception("packing the provisioning index failed")
        if packed >= WORTH_RELEASING:
            release_freed_memory_soon(0.0)  # the unpacked files are gone already

    def pack(self) -> int:
        """Deflate every device file not yet packed; returns how many were."""
        pending = [e for e in list(self.files.values()) if e.device_id and not e.packed]
        count = 0
        for start in range(0, len(pending), _PACK_BATCH):
            with self._lock:  # a refresh may replace a file meanwhile: keep the newer
                for entry in pending[start : start + _PACK_BATCH]:
                    if self.files.get(entry.name) is entry:
                        self.files[entry.name] = entry.packed_against(self._dictionary(entry))
                        count += 1
        return count

    def _dictionary(self, entry: FileEntry) -> bytes:
        access = self.devices.get(entry.device_id or "")
        kind = (access.vendor if access else "", entry.name.replace(entry.device_id or "", "*"))
        return self._dictionaries.setdefault(kind, entry.content)

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
