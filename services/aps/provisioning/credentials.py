"""What a phone presents: HTTP Basic, or HTTP Digest (RFC 7616, MD5, qop=auth).

Both are always accepted; a 401 challenges with the one scheme the settings name
(`SHARELINE_PROVISIONING_CHALLENGE`, Basic by default). Digest nonces are stateless: an
HMAC of a five-minute time bucket, so every replica accepts every other's, and two 401s
in the same bucket stay byte-identical whatever was asked. A nonce is good for its
bucket and the next one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from services.aps.devices.credentials import password_matches

REALM = "shareline"
NONCE_BUCKET_SECONDS = 300
_DIGEST_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]*))')


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ha1(user: str, password: str) -> str:
    """The Digest secret for one user and password in our realm."""
    return md5_hex(f"{user}:{REALM}:{password}")


class Nonces:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"shareline-digest-nonce:" + secret.encode()).digest()

    def _sign(self, bucket: int) -> str:
        mac = hmac.new(self._key, str(bucket).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{bucket}.{mac}"

    def current(self) -> str:
        return self._sign(int(time.time() // NONCE_BUCKET_SECONDS))

    def valid(self, nonce: str) -> bool:
        bucket_text, _, _ = nonce.partition(".")
        if not bucket_text.isdigit():
            return False
        bucket, now = int(bucket_text), int(time.time() // NONCE_BUCKET_SECONDS)
        return bucket in (now, now - 1) and hmac.compare_digest(nonce, self._sign(bucket))


@dataclass(frozen=True)
class Presented:
    """A credential as the request carries it (nothing checked yet)."""

    user: str
    password: str | None = None  # Basic
    digest: dict[str, str] | None = None  # Digest parameters
    method: str = "GET"
    path: str = ""

    def proves(
        self,
        nonces: Nonces,
        *,
        password: str | None = None,
        password_hash: str | None = None,
        digest_ha1: str | None = None,
    ) -> bool:
        """Whether this proves the given secret (clear, hashed, or as a Digest HA1)."""
        if self.password is not None:
            if password is not None:
                return hmac.compare_digest(self.password.encode(), password.encode())
            return password_hash is not None and password_matches(self.password, password_hash)
        if self.digest is None:
            return False
        secret = digest_ha1 or (ha1(self.user, password) if password is not None else None)
        return secret is not None and self._digest_matches(nonces, secret)

    def _digest_matches(self, nonces: Nonces, secret: str) -> bool:
        d = self.digest or {}
        nonce = d.get("nonce", "")
        if d.get("realm") != REALM or d.get("algorithm", "MD5").upper() != "MD5":
            return False
        if not nonces.valid(nonce) or urlsplit(d.get("uri", "")).path != self.path:
            return False
        ha2 = md5_hex(f"{self.method}:{d.get('uri', '')}")
        if d.get("qop") == "auth":
            expected = md5_hex(
                f"{secret}:{nonce}:{d.get('nc', '')}:{d.get('cnonce', '')}:auth:{ha2}"
            )
        elif "qop" not in d:
            expected = md5_hex(f"{secret}:{nonce}:{ha2}")
        else:
            return False
        return hmac.compare_digest(expected, d.get("response", ""))


def presented(request: Request) -> Presented | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return Presented(user, password=password) if sep else None
    if scheme.lower() == "digest" and value:
        params = {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _DIGEST_PARAM.finditer(value)
        }
        if "username" in params and "response" in params:
            return Presented(
                params["username"], digest=params, method=request.method, path=request.url.path
            )
    return None


def challenge(scheme: str, nonces: Nonces) -> str:
    """One WWW-Authenticate challenge: phones (and proxies) handle one header best."""
    if scheme == "digest":
        return f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{nonces.current()}"'
    return f'Basic realm="{REALM}"'
