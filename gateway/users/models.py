"""Administrator accounts: the table and the shapes the API reads and writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, StrictBool, field_validator
from pydantic import Field as ApiField
from sqlmodel import Field, SQLModel

USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,31}$"
PASSWORD_MIN, PASSWORD_MAX = 12, 128
# Control characters in a password are almost always a paste accident, and a NUL
# breaks more than one client; the upper bound keeps Argon2 from being fed megabytes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Role(StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    __tablename__ = "gw_users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=32)
    password_hash: str
    role: str = Field(max_length=16)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Every token carries the version current at login (claim `ver`); a password change
    # bumps it, so every earlier token dies at once, even one issued the same second.
    token_version: int = 0
    failed_logins: int = 0
    first_failed_at: datetime | None = None
    locked_until: datetime | None = None


def _check_password(value: str | None) -> str | None:
    if value is None:
        return value
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise ValueError(f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"username": "alice", "password": "correct-horse-battery", "role": "operator"}
            ]
        },
    )

    username: str = ApiField(pattern=USERNAME_PATTERN, description="Lowercase login name")
    password: str = ApiField(description=f"{PASSWORD_MIN} to {PASSWORD_MAX} characters")
    role: Role = Role.viewer

    _password = field_validator("password")(_check_password)


class UserUpdate(BaseModel):
    """PATCH: only the fields present change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "admin"}, {"disabled": True}]},
    )

    role: Role | None = None
    disabled: StrictBool | None = None
    password: str | None = ApiField(default=None, description="A new password")
    current_password: str | None = ApiField(
        default=None,
        max_length=PASSWORD_MAX,
        description="Required when changing one's own password",
    )

    _password = field_validator("password")(_check_password)


class PasswordChange(BaseModel):
    """PUT: set the account's password."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "the-one-printed-at-start", "password": "a-new-long-secret"}
            ]
        },
    )

    password: str = ApiField(description=f"{PASSWORD_MIN} to {PASSWORD_MAX} characters")
    current_password: str | None = ApiField(
        default=None,
        max_length=PASSWORD_MAX,
        description="Required when changing one's own password",
    )

    _password = field_validator("password")(_check_password)


class UserPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "role": "operator",
                    "disabled": False,
                    "created_at": "2026-01-05T09:30:00",
                    "updated_at": "2026-01-05T09:30:00",
                }
            ]
        }
    )

    username: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime
