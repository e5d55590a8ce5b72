"""Bulk seeding of the extensions and APS databases, straight into their tables.

Creating 100,000 extensions through the API (each one a licensing saga) would take longer
than the whole benchmark budget; the bench is not a service, so it writes the services'
own tables with multi-row inserts and then times the commits over HTTP.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, func, insert, select

from services.aps.devices.credentials import Sealer, hash_password, new_password
from services.aps.devices.models import Device, DeviceLine
from services.extensions.tables import DialNumber, Extension, Slot

SLOTS_PER_EXTENSION = 3
FIRST_NUMBER = 100_000  # six digits: room for 900,000 extensions
_CHUNK = 2_000


def engine_for(url: str) -> Engine:
    return create_engine(url)


def number_of(index: int) -> str:
    return str(FIRST_NUMBER + index)


def _chunks(rows: list[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def extension_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Extension)).scalar_one())


def seed_extensions(engine: Engine, total: int) -> int:
    """Grow the extensions table to `total` extensions with 3 slots each; returns how many
    were added. Numbers are consecutive from FIRST_NUMBER, so growing is idempotent."""
    have = extension_count(engine)
    now = datetime.now(UTC)
    extensions: list[dict[str, object]] = []
    numbers: list[dict[str, object]] = []
    slots: list[dict[str, object]] = []
    for index in range(have, total):
        number = number_of(index)
        extensions.append(
            {
                "number": number,
                "name": f"Bench {number}",
                "full_name": f"Bench User {number}",
                "email": f"u{number}@bench.example",
                "password": secrets.token_hex(12),
                "shared_enabled": True,
                "max_devices": SLOTS_PER_EXTENSION,
                "voicemail": False,
                "ring_seconds": 30,
                "created_at": now,
                "updated_at": now,
            }
        )
        numbers.append({"number": number, "owner": "extension"})
        for slot_index in range(1, SLOTS_PER_EXTENSION + 1):
            auth_name = number if slot_index == 1 else f"{number}_{slot_index}"
            slots.append(
                {
                    "auth_name": auth_name,
                    "extension_number": number,
                    "slot_index": slot_index,
                    "ring_mode": "ring",
                    "tone": None,
                }
            )
    with engine.begin() as conn:
        for table, rows in ((Extension, extensions), (DialNumber, numbers), (Slot, slots)):
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
    return total - have


@dataclass(frozen=True)
class Phone:
    """One simulated phone: what it is and how it proves who it is."""

    mac: str
    vendor: str
    model: str
    lines: int
    password: str

    @property
    def colon_mac(self) -> str:
        return ":".join(self.mac[i : i + 2] for i in range(0, 12, 2))


def plan_phones(count: int, vendors: list[tuple[str, list[str]]]) -> list[Phone]:
    """Mixed vendors and models, 1-3 lines each; phone i carries extension i's slots."""
    phones = []
    for index in range(count):
        vendor, models = vendors[index % len(vendors)]
        model = models[(index // len(vendors)) % len(models)]
        # A locally administered unicast prefix: never a real vendor's MAC.
        mac = f"02be{index:08x}"
        phones.append(Phone(mac, vendor, model, 1 + index % 3, new_password()))
    return phones


def seed_devices(engine: Engine, phones: list[Phone], sealer: Sealer) -> None:
    now = datetime.now(UTC)
    devices: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    for index, phone in enumerate(phones):
        devices.append(
            {
                "id": phone.mac,
                "vendor": phone.vendor,
                "model": phone.model,
                "label": f"bench {index}",
                "time_zone": "UTC",
                "keys": [],
                "credential_hash": hash_password(phone.password),
                "credential_sealed": sealer.seal(phone.password),
                "created_at": now,
                "updated_at": now,
            }
        )
        number = number_of(index)
        for line in range(1, phone.lines + 1):
            auth_name = number if line == 1 else f"{number}_{line}"
            lines.append({"device_id": phone.mac, "line": line, "auth_name": auth_name})
    with engine.begin() as conn:
        for table, rows in ((Device, devices), (DeviceLine, lines)):
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
