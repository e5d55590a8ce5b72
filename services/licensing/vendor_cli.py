"""`shareline-license`: the vendor's tool to make a signing key and issue license keys.

    shareline-license keygen --out vendor.pem
    shareline-license issue --system-id SL-… --users 50 --shared-devices 20 \
        --softphones 5 --days 365 --key vendor.pem [--kid …] [--customer …]

The private key never leaves the vendor; installations trust its public key, listed
under its kid in SHARELINE_LICENSE_PUBLIC_KEYS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.licensing.settings import DEFAULT_ISSUER

DAY = 86_400


def key_id(private_key: Ed25519PrivateKey) -> str:
    """A stable kid: the first 16 hex digits of the SHA-256 of the raw public key."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(private_key: Ed25519PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path} is not an Ed25519 private key")
    return key


def issue_key(
    private_key: Ed25519PrivateKey,
    *,
    system_id: str,
    users: int,
    shared_devices: int,
    softphones: int,
    days: int,
    customer: str,
    kid: str | None = None,
    issuer: str = DEFAULT_ISSUER,
    license_id: str | None = None,
    now: int | None = None,
) -> str:
    """A signed license key (compact JWS, EdDSA) for one system."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "sub": system_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + days * DAY,
        "lid": license_id or f"lic-{uuid.uuid4().hex[:12]}",
        "customer": customer,
        "users": users,
        "shared_devices": shared_devices,
        "softphones": softphones,
    }
    headers = {"kid": kid or key_id(private_key)}
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers=headers)


def _keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    kid = args.kid or key_id(private_key)
    print(f"kid: {kid}")
    print(public_pem(private_key), end="")
    print("SHARELINE_LICENSE_PUBLIC_KEYS=" + json.dumps({kid: public_pem(private_key)}))
    return 0


def _issue(args: argparse.Namespace) -> int:
    token = issue_key(
        load_private_key(Path(args.key)),
        system_id=args.system_id,
        users=args.users,
        shared_devices=args.shared_devices,
        softphones=args.softphones,
        days=args.days,
        customer=args.customer,
        kid=args.kid,
        issuer=args.issuer,
        license_id=args.license_id,
    )
    print(token)
    return 0


def _units(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="shareline-license", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make a vendor signing key pair")
    keygen.add_argument("--out", required=True, help="where to write the private key (PEM)")
    keygen.add_argument("--kid", help="key id to print (default: from the public key)")
    keygen.add_argument("--force", action="store_true", help="replace an existing file")
    keygen.set_defaults(run=_keygen)
    issue = commands.add_parser("issue", help="issue a license key for one system id")
    issue.add_argument("--system-id", required=True)
    issue.add_argument("--users", type=_units, required=True)
    issue.add_argument("--shared-devices", type=_units, required=True)
    issue.add_argument("--softphones", type=_units, required=True)
    issue.add_argument("--days", type=_positive, required=True)
    issue.add_argument("--key", required=True, help="the vendor private key (PEM)")
    issue.add_argument("--kid", help="key id in the header (default: from the public key)")
    issue.add_argument("--customer", default="", help="customer name shown to the admin")
    issue.add_argument("--issuer", default=DEFAULT_ISSUER)
    issue.add_argument("--license-id", help="license id (default: generated)")
    issue.set_defaults(run=_issue)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
