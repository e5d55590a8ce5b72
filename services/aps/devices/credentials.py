"""Per-device provisioning credentials.

Each device gets a random password at creation. It is kept twice, for two readers:
a SHA-256 hash the phone-facing path compares against (the password is 144 random
bits, so a fast hash is as good as a slow one and keeps 2,000 requests/s cheap), and a
Fernet-sealed copy a commit unseals to render it into the device's own file. The
sealing key comes from `SHARELINE_APS_CREDENTIAL_KEY`, or is derived from the service
token secret when unset. The rendered snapshot necessarily holds it in clear, next to
the SIP passwords the same file carries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
PASSWORD_LENGTH = 24


def new_password() -> str:
    """24 characters from a 57-letter alphabet safe in URLs, INI and XML (~140 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def password_matches(password: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_password(password), expected_hash)


@dataclass(frozen=True)
class Sealer:
    """Seals and unseals device passwords with one Fernet key."""

    fernet: Fernet

    @classmethod
    def from_secret(cls, secret: str) -> Sealer:
        key = hashlib.sha256(b"shareline-aps-credential-key:" + secret.encode()).digest()
        return cls(Fernet(base64.urlsafe_b64encode(key)))

    def seal(self, password: str) -> str:
        return self.fernet.encrypt(password.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self.fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a device credential cannot be unsealed with this key") from exc
