"""Password hashing with Argon2id.

The cost parameters come from settings (argon2-cffi's recommended defaults: 3 passes
over 64 MiB, 4 lanes); the gateway sets them once at start-up with `use_hasher`.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_state: dict[str, PasswordHasher | str] = {}


def use_hasher(time_cost: int, memory_kib: int, parallelism: int) -> None:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _state["hasher"] = hasher
    # Unknown usernames are checked against this, so they cost what a real check costs.
    _state["decoy"] = hasher.hash("decoy password that matches nothing")


def _hasher() -> PasswordHasher:
    if "hasher" not in _state:
        use_hasher(3, 65536, 4)
    hasher = _state["hasher"]
    assert isinstance(hasher, PasswordHasher)
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown account (None) costs the same time."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or str(_state["decoy"]), password) and bool(
            password_hash
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
