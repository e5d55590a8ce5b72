"""What each simulated phone asks for: its MAC file and its common file, as wrk lines.

File names and ETags come from the snapshot the APS commit stored, so the second pass
can send `If-None-Match` exactly as a phone that kept the ETag would.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from bench.seed import Phone
from services.aps.snapshots.models import SnapshotFile

VENDORS_DIR = Path(__file__).resolve().parents[1] / "services" / "aps" / "vendors"

_USER_AGENTS = {
    "yealink": "Yealink SIP-{model} 66.86.0.15 {colon}",
    "poly": "PolycomVVX-{model}-UA/6.4.3.5018 Type/Application ({mac})",
    "grandstream": "Grandstream Model HW {model} SW 1.0.11.23 DevId {mac}",
    "snom": "Mozilla/4.0 (compatible; snom{model}-SIP 10.1.141.13 1.1.5-IS {upper})",
    "cisco": "Cisco-CP{model}-3PCC/11.3.7 ({mac})",
    "fanvil": "Fanvil {model} 2.12.6 {mac}",
}


@dataclass(frozen=True)
class Fetch:
    path: str
    authorization: str
    user_agent: str
    forwarded_for: str
    etag: str


def hardware_vendors() -> list[tuple[str, list[str]]]:
    """(vendor, model names) of every hardware vendor the APS ships."""
    found = []
    for vendor_json in sorted(VENDORS_DIR.glob("*/vendor.json")):
        spec = json.loads(vendor_json.read_text())
        if spec["name"] != "softphone":
            found.append((spec["name"], [m["name"] for m in spec["models"]]))
    return found


def _file_names(vendor: str, model: str, mac: str) -> tuple[str, str]:
    """The phone's own configuration file and the common file it reads with it."""
    spec = json.loads((VENDORS_DIR / vendor / "vendor.json").read_text())
    device = next(f for f in spec["device_files"] if f["template"] == "device")
    common = next(f for f in spec["common_files"] if f["template"] == "common")
    if common.get("per_model"):
        common_name = next(m["common_file"] for m in spec["models"] if m["name"] == model)
    else:
        common_name = common["name"]
    return device["name"].format(mac=mac).lower(), common_name.lower()


def _user_agent(phone: Phone) -> str:
    return _USER_AGENTS[phone.vendor].format(
        model=phone.model, mac=phone.mac, colon=phone.colon_mac, upper=phone.mac.upper()
    )


def _address(index: int) -> str:
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def snapshot_files(engine: Engine) -> dict[str, tuple[bytes, str]]:
    """Every file of the latest snapshot: name → (content, ETag)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(SnapshotFile.name, SnapshotFile.content, SnapshotFile.etag).where(  # type: ignore[call-overload]
                SnapshotFile.last_revision.is_(None)  # type: ignore[union-attr]
            )
        ).all()
    return {name: (bytes(content), etag) for name, content, etag in rows}


def plan_fetches(phones: list[Phone], files: dict[str, tuple[bytes, str]]) -> list[Fetch]:
    """Two fetches per phone, each with the phone's own credential, User-Agent and address."""
    fetches = []
    for index, phone in enumerate(phones):
        token = base64.b64encode(f"{phone.mac}:{phone.password}".encode()).decode()
        for name in _file_names(phone.vendor, phone.model, phone.mac):
            if name not in files:
                raise RuntimeError(f"the snapshot has no {name} for {phone.vendor} {phone.mac}")
            fetches.append(
                Fetch(
                    "/provision/" + name,
                    "Basic " + token,
                    _user_agent(phone),
                    _address(index),
                    files[name][1],
                )
            )
    return fetches


def write_request_file(path: Path, fetches: list[Fetch], *, conditional: bool) -> Path:
    """One tab-separated line per fetch, as storm.lua reads them."""
    with path.open("w") as out:
        for f in fetches:
            etag = f.etag if conditional else ""
            out.write(f"{f.path}\t{f.authorization}\t{f.user_agent}\t{f.forwarded_for}\t{etag}\n")
    return path


def nginx_etag(path: Path) -> str:
    """The ETag nginx sends for a file: last-modified time and size, in hex."""
    stat = path.stat()
    return f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'


def write_static_tree(root: Path, files: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    """The same bytes as plain files under root/provision/; returns nginx's ETag per name."""
    folder = root / "provision"
    folder.mkdir(parents=True, exist_ok=True)
    etags = {}
    for name, (content, _) in files.items():
        target = folder / name
        target.write_bytes(content)
        os.utime(target, (1_700_000_000, 1_700_000_000))
        etags[name] = nginx_etag(target)
    return etags


def static_fetches(fetches: list[Fetch], etags: dict[str, str]) -> list[Fetch]:
    """The same fetches against nginx, with the ETags nginx itself gives."""
    return [
        Fetch(
            f.path,
            f.authorization,
            f.user_agent,
            f.forwarded_for,
            etags[f.path.removeprefix("/provision/")],
        )
        for f in fetches
    ]
