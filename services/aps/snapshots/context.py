"""The plain data a vendor template renders one device (or the common files) from."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit
from zoneinfo import ZoneInfo

from services.aps.settings import Settings
from services.aps.telephony import Telephony
from services.aps.vendors.catalog import VendorLike

ALERT_INFO_TONES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class DeviceInputs:
    """A device row as a commit reads it (no ORM objects)."""

    id: str
    vendor: str
    model: str
    label: str
    time_zone: str
    keys: list[dict[str, Any]]
    lines: list[tuple[int, str]]  # (line number, auth name)


@lru_cache(maxsize=512)
def _offset_seconds(name: str, hour: int) -> int:
    offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def utc_offset_seconds(name: str) -> int:
    """The zone's offset now; the hour in the cache key lets DST changes through."""
    return _offset_seconds(name, int(time.time() // 3600))


def tz_context(name: str) -> dict[str, Any]:
    return _tz_context(name, utc_offset_seconds(name))


@lru_cache(maxsize=512)
def _tz_context(name: str, seconds: int) -> dict[str, Any]:
    # Shared by every device in the zone: contexts are read, never changed.
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes = rest // 60
    hours_text = f"{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    posix_sign = "-" if seconds >= 0 else "+"  # POSIX TZ counts west of UTC as positive
    return {
        "name": name,
        "seconds": seconds,
        "minutes": seconds // 60,
        "hours": hours_text,
        "gmt": f"GMT{sign}{hours:02d}:{minutes:02d}",
        "posix": f"UTC{posix_sign}{hours}" + (f":{minutes:02d}" if minutes else ""),
    }


def settings_digest(settings: Settings) -> str:
    values = (
        settings.provisioning_url,
        settings.provisioning_resync_seconds,
        settings.sip_register_expiry_seconds,
    )
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")  # what `quote` leaves as it is


def _quoted(text: str) -> str:
    # `quote` costs ~10 µs even when nothing needs quoting (MACs, generated passwords).
    return text if _URL_SAFE.fullmatch(text) else quote(text, safe="")


@lru_cache(maxsize=16)
def _split(url: str) -> SplitResult:
    return urlsplit(url)


def prov_context(settings: Settings, user: str | None, password: str | None) -> dict[str, Any]:
    url = settings.provisioning_url
    parts = _split(url)
    with_credentials = url
    if user and password:
        netloc = f"{_quoted(user)}:{_quoted(password)}@{parts.netloc}"
        with_credentials = parts._replace(netloc=netloc).geturl()
    resync = settings.provisioning_resync_seconds
    return {
        "url": url,
        "url_with_credentials": with_credentials,
        "scheme": parts.scheme,
        "host_path": parts.netloc + parts.path.rstrip("/"),
        "user": user or "",
        "password": password or "",
        "resync_seconds": resync,
        "resync_minutes": max(1, resync // 60),
        "resync_days": max(1, resync // 86_400),
    }


def ring_tones(vendor: VendorLike) -> list[dict[str, Any]]:
    tones: dict[str, str] = vendor.describe()["ring_tones"]
    return [{"tone": t, "info": f"ring{t}", "value": tones[str(t)]} for t in ALERT_INFO_TONES]


def common_context(vendor: VendorLike, telephony: Telephony, settings: Settings) -> dict[str, Any]:
    return {
        "prov": prov_context(settings, None, None),
        "sip": {"host": telephony.sip_host, "port": telephony.sip_port},
        "ring_tones": ring_tones(vendor),
        "models": [
            {"name": m.name, "common_file": m.common_file} for m in vendor.models if m.common_file
        ],
    }


def device_context(
    device: DeviceInputs,
    vendor: VendorLike,
    telephony: Telephony,
    settings: Settings,
    provisioning_password: str,
) -> dict[str, Any]:
    spec = vendor.describe()
    transports: dict[str, str] = spec.get("transports") or {}
    ring_values: dict[str, str] = spec["ring_tones"]
    lines = []
    for number, auth_name in device.lines:
        slot = telephony.slots.get(auth_name)
        if slot is None:
            continue  # reported by the commit, never rendered
        ring = ring_values.get(str(slot.tone)) if slot.ring_mode == "distinctive" else None
        lines.append(
            {
                "index": number,
                "number": slot.number,
                "user": slot.number,
                "auth_name": slot.auth_name,
                "display_name": slot.name,
                "label": f"{slot.number} {slot.name}".strip()[:32],
                "password": slot.password,
                "server": telephony.sip_host,
                "port": telephony.sip_port,
                "transport": transports.get(telephony.sip_transport, telephony.sip_transport),
                "transport_name": telephony.sip_transport,
                "expiry": settings.sip_register_expiry_seconds,
                "ring_mode": slot.ring_mode,
                "tone": slot.tone,
                "ring": ring,
            }
        )
    used = {line["index"] for line in lines}
    common_file = next((m.common_file for m in vendor.models if m.name == device.model), None)
    keys = [
        {
            "index": key["key"],
            "type": key["type"],
            "extension": key["extension"],
            "label": key.get("label") or key["extension"],
        }
        for key in sorted(device.keys, key=lambda k: k["key"])
    ]
    return {
        "device": {
            "id": device.id,
            "mac": device.id,
            "model": device.model,
            "label": device.label,
            "vendor": device.vendor,
            "common_file": common_file,
        },
        "lines": lines,
        "unused_lines": [i for i in range(1, vendor.max_lines + 1) if i not in used],
        "keys": keys,
        "tz": tz_context(device.time_zone),
        "prov": prov_context(settings, device.id, provisioning_password),
        "sip": {"host": telephony.sip_host, "port": telephony.sip_port},
        "ring_tones": ring_tones(vendor),
    }
