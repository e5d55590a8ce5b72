"""Request and response bodies of `/api/v1/extensions` (no password on any public model)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from services.extensions.fields import DisplayName, Email, ExtensionNumber, FullName, Password

RingMode = Literal["ring", "distinctive", "silent"]
Registration = Literal["registered", "unregistered", "unknown"]

_STRICT = ConfigDict(extra="forbid")


class Identity(BaseModel):
    """The person behind the extension (QR codes are e-mailed to this address)."""

    model_config = _STRICT
    full_name: FullName
    email: Email | None = None


class Shared(BaseModel):
    """Shared SIP support: `max_devices` slots when enabled, one slot otherwise."""

    model_config = _STRICT
    enabled: StrictBool = False
    max_devices: int = Field(default=1, ge=1, le=99)

    @model_validator(mode="after")
    def _one_device_unless_shared(self) -> Shared:
        if not self.enabled and self.max_devices != 1:
            raise ValueError("max_devices must be 1 while shared support is disabled")
        return self


class SharedPatch(BaseModel):
    """Omitted members keep their value; disabling shared support lowers to one device."""

    model_config = _STRICT
    enabled: StrictBool | None = None
    max_devices: int | None = Field(default=None, ge=1, le=99)


class NoAnswer(BaseModel):
    """What happens when no slot answers within `ring_seconds`."""

    model_config = _STRICT
    voicemail: StrictBool = False
    ring_seconds: int = Field(default=30, ge=5, le=300)


class ExtensionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "number": "100",
                    "name": "Alice",
                    "identity": {"full_name": "Alice Smith", "email": "alice@example.com"},
                    "shared": {"enabled": True, "max_devices": 3},
                    "no_answer": {"voicemail": True, "ring_seconds": 25},
                }
            ]
        },
    )
    number: ExtensionNumber
    name: DisplayName
    identity: Identity
    password: Password | None = Field(
        default=None, description="Omit to have a strong password generated"
    )
    shared: Shared = Shared()
    no_answer: NoAnswer = NoAnswer()


class ExtensionUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"shared": {"enabled": True, "max_devices": 2}}]},
    )
    name: DisplayName | None = None
    identity: Identity | None = None
    password: Password | None = Field(
        default=None, description="A new SIP password for every slot (takes effect at commit)"
    )
    shared: SharedPatch | None = None
    no_answer: NoAnswer | None = None


class SlotSummary(BaseModel):
    auth_name: str = Field(examples=["100_2"])
    index: int = Field(examples=[2], description="1 is the primary slot")
    primary: bool
    ring_mode: RingMode
    tone: int | None = Field(default=None, description="1-5 when ring_mode is distinctive")


class ExtensionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "100",
                    "name": "Alice",
                    "identity": {"full_name": "Alice Smith", "email": "alice@example.com"},
                    "shared": {"enabled": True, "max_devices": 2},
                    "no_answer": {"voicemail": True, "ring_seconds": 25},
                    "slots": [
                        {
                            "auth_name": "100",
                            "index": 1,
                            "primary": True,
                            "ring_mode": "ring",
                            "tone": None,
                        },
                        {
                            "auth_name": "100_2",
                            "index": 2,
                            "primary": False,
                            "ring_mode": "distinctive",
                            "tone": 2,
                        },
                    ],
                    "created_at": "2026-11-26T08:00:00Z",
                    "updated_at": "2026-11-26T08:00:00Z",
                }
            ]
        }
    )
    number: str
    name: str
    identity: Identity
    shared: Shared
    no_answer: NoAnswer
    slots: list[SlotSummary]
    created_at: datetime
    updated_at: datetime


class ExtensionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "number": "101",
                            "name": "Bob",
                            "identity": {"full_name": "Bob Keller", "email": None},
                            "shared": {"enabled": False, "max_devices": 1},
                            "no_answer": {"voicemail": False, "ring_seconds": 30},
                            "slots": [
                                {
                                    "auth_name": "101",
                                    "index": 1,
                                    "primary": True,
                                    "ring_mode": "ring",
                                    "tone": None,
                                }
                            ],
                            "created_at": "2026-11-26T08:00:00Z",
                            "updated_at": "2026-11-26T08:00:00Z",
                        }
                    ],
                    "total": 1,
                    "limit": 100,
                    "offset": 0,
                }
            ]
        }
    )
    items: list[ExtensionPublic]
    total: int
    limit: int
    offset: int


class SlotCredentials(BaseModel):
    index: int
    server: str = Field(examples=["pbx.example.com"])
    port: int = Field(examples=[5060])
    transport: Literal["udp", "tcp", "tls"]
    user: str = Field(examples=["100_2"], description="SIP user name (the auth name)")
    auth_name: str = Field(examples=["100_2"])
    password: str


class Credentials(BaseModel):
    """The manual-setup sheet for a third-party device."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "100",
                    "caller_id": '"Alice" <100>',
                    "committed": True,
                    "slots": [
                        {
                            "index": 1,
                            "server": "pbx.example.com",
                            "port": 5060,
                            "transport": "udp",
                            "user": "100",
                            "auth_name": "100",
                            "password": "q8Xv2mT5rK0pLw7nZ3aB9cDe",
                        },
                    ],
                }
            ]
        }
    )
    number: str
    caller_id: str
    committed: bool = Field(
        description="False while these credentials differ from the last telephony commit "
        "(Asterisk does not know them yet)"
    )
    slots: list[SlotCredentials]
