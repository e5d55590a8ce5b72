"""Verifying a vendor's license key: a compact JWS, Ed25519, every claim checked.

The algorithm is pinned to EdDSA before anything else is looked at, the key comes from
the trust list by `kid`, and the issuer must match exactly; each refusal has its own
problem type so an administrator can tell what is wrong with a key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.common.errors import Unprocessable
from services.licensing.keys.terms import LicenseTerms

ALGORITHM = "EdDSA"
POOL_CLAIMS = ("users", "shared_devices", "softphones")
MAX_UNITS = 1_000_000
NOT_BEFORE_LEEWAY = timedelta(seconds=60)


class LicenseKeyRejected(Unprocessable):
    """A license key that is not installed; the key in force stays."""

    slug: ClassVar[str] = "license-key-invalid"
    title: ClassVar[str] = "License key rejected"


class MalformedKey(LicenseKeyRejected):
    slug = "license-key-malformed"


class WrongAlgorithm(LicenseKeyRejected):
    slug = "license-key-algorithm"


class UnknownKeyId(LicenseKeyRejected):
    slug = "license-key-unknown-kid"


class BadSignature(LicenseKeyRejected):
    slug = "license-key-bad-signature"


class WrongIssuer(LicenseKeyRejected):
    slug = "license-key-wrong-issuer"


class WrongSystem(LicenseKeyRejected):
    slug = "license-key-wrong-system"


class KeyExpired(LicenseKeyRejected):
    slug = "license-key-expired"


class KeyNotYetValid(LicenseKeyRejected):
    slug = "license-key-not-yet-valid"


def load_trusted_keys(pems: dict[str, str]) -> dict[str, Ed25519PublicKey]:
    """Parse the trust list; anything but an Ed25519 public key is a configuration error."""
    trusted: dict[str, Ed25519PublicKey] = {}
    for kid, pem in pems.items():
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise ValueError(f"trusted license key {kid!r} is not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"trusted license key {kid!r} is not an Ed25519 public key")
        trusted[kid] = key
    return trusted


def verify_license_key(
    token: str,
    *,
    trusted: dict[str, Ed25519PublicKey],
    issuer: str,
    system_id: str,
    now: datetime,
) -> LicenseTerms:
    """The terms of a valid key for this system, or a LicenseKeyRejected saying why not."""
    kid = _pinned_kid(token, trusted)
    claims = _verified_claims(token, trusted[kid])
    if not isinstance(claims.get("iss"), str) or claims["iss"] != issuer:
        raise WrongIssuer(f"the key was not issued by {issuer!r}")
    if claims.get("sub") != system_id:
        raise WrongSystem(
            f"the key is for system {str(claims.get('sub'))[:40]!r}, not for this system "
            f"({system_id})",
            system_id=system_id,
        )
    terms = _terms(kid, claims)
    if terms.not_before > now + NOT_BEFORE_LEEWAY:
        raise KeyNotYetValid(f"the key is valid from {terms.not_before.isoformat()}")
    if terms.expires_at <= now:
        raise KeyExpired(f"the key expired at {terms.expires_at.isoformat()}")
    return terms


def _pinned_kid(token: str, trusted: dict[str, Ed25519PublicKey]) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise MalformedKey("the license key is not a compact JWS") from exc
    if header.get("alg") != ALGORITHM:
        raise WrongAlgorithm(f"license keys must be signed with {ALGORITHM} (Ed25519)")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in trusted:
        raise UnknownKeyId("the key was signed with a vendor key this system does not trust")
    return kid


def _verified_claims(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            # Times are checked below against the service's own clock.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": False,
                "verify_aud": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise BadSignature("the license key's signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise MalformedKey("the license key could not be read") from exc


def _terms(kid: str, claims: dict[str, Any]) -> LicenseTerms:
    license_id = claims.get("lid", claims.get("jti"))
    customer = claims.get("customer")
    if not isinstance(license_id, str) or not license_id:
        raise LicenseKeyRejected("the key has no license id (lid or jti)")
    if not isinstance(customer, str):
        raise LicenseKeyRejected("the key has no customer")
    units = {name: _units(claims, name) for name in POOL_CLAIMS}
    return LicenseTerms(
        trial=False,
        customer=customer,
        kid=kid,
        license_id=license_id,
        issued_at=_time(claims, "iat"),
        not_before=_time(claims, "nbf"),
        expires_at=_time(claims, "exp"),
        **units,
    )


def _units(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNITS:
        raise LicenseKeyRejected(f"the key's {name!r} must be a whole number of units")
    return value


def _time(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LicenseKeyRejected(f"the key has no valid {name!r} time")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise LicenseKeyRejected(f"the key's {name!r} time is out of range") from exc
