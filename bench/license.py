"""A real license key with big pools, from the vendor's own tool in a temporary folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "services.licensing.vendor_cli"]


def vendor_keypair(folder: Path) -> tuple[Path, str]:
    """(private key file, the SHARELINE_LICENSE_PUBLIC_KEYS value that trusts it)."""
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "vendor.pem"
    out = subprocess.run(
        [*CLI, "keygen", "--out", str(private)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("SHARELINE_LICENSE_PUBLIC_KEYS="):
            return private, line.split("=", 1)[1]
    raise RuntimeError("shareline-license keygen printed no public key list")


def install_license(
    admin: httpx.Client, private: Path, *, users: int, shared_devices: int, softphones: int
) -> dict[str, object]:
    """Issue a key for this system's id and install it through the public API."""
    system_id = admin.get("/api/v1/license").raise_for_status().json()["system_id"]
    key = subprocess.run(
        [
            *CLI,
            "issue",
            "--system-id",
            system_id,
            "--users",
            str(users),
            "--shared-devices",
            str(shared_devices),
            "--softphones",
            str(softphones),
            "--days",
            "30",
            "--key",
            str(private),
            "--customer",
            "ShareLine bench",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    status: dict[str, object] = (
        admin.put("/api/v1/license", json={"key": key}).raise_for_status().json()
    )
    return status
