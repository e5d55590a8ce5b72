"""Fetch tracking without a database write per phone request.

The phone path notes each device fetch in memory; `flush` (every second from a
background task, and before a device is read through the API) writes the newest
fetch per device, and any first enrolment, in one executemany UPDATE.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, bindparam, update

from services.aps.devices.models import Device
from services.common.db import unit_of_work


@dataclass(frozen=True)
class Fetch:
    at: datetime
    address: str
    user_agent: str
    revision: int


class FetchRecorder:
    def __init__(self) -> None:
        self._pending: dict[str, Fetch] = {}
        self._enrolled: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def note(self, device_id: str, address: str, user_agent: str, revision: int) -> None:
        fetch = Fetch(datetime.now(UTC), address[:64], user_agent[:256], revision)
        with self._lock:
            self._pending[device_id] = fetch

    def note_enrolled(self, device_id: str) -> None:
        with self._lock:
            self._enrolled.setdefault(device_id, datetime.now(UTC))

    def flush(self, engine: Engine) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
            enrolled, self._enrolled = self._enrolled, {}
        if not pending and not enrolled:
            return 0
        table = Device.__table__  # type: ignore[attr-defined]
        with unit_of_work(engine) as session:
            connection = session.connection()
            if pending:
                connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("device"))
                    .values(
                        last_fetch_at=bindparam("at"),
                        last_fetch_address=bindparam("address"),
                        last_fetch_user_agent=bindparam("user_agent"),
                        last_fetch_revision=bindparam("revision"),
                        # A fetch is no edit: keep the device out of the next commit's plan.
                        updated_at=table.c.updated_at,
                    ),
                    [
                        {
                            "device": d,
                            "at": f.at,
                            "address": f.address,
                            "user_agent": f.user_agent,
                            "revision": f.revision,
                        }
                        for d, f in pending.items()
                    ],
                )
            if enrolled:
                connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("device"), table.c.enrolled_at.is_(None))
                    .values(enrolled_at=bindparam("at"), updated_at=table.c.updated_at),
                    [{"device": d, "at": at} for d, at in enrolled.items()],
                )
        return len(pending) + len(enrolled)
