"""What the device API accepts and returns."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _no_format_characters(value: str) -> str:
    # `\w` also matches the zero-width joiners (U+200C, U+200D), which the phone-file
    # renderer refuses; accepting them here would block every later APS commit.
    if any(unicodedata.category(char) == "Cf" for char in value):
        raise ValueError("must not contain invisible formatting characters")
    return value


# A label reaches phone files: letters, digits and a few punctuation marks, nothing that
# could end a line, open a comment or an XML tag.
Label = Annotated[
    str,
    StringConstraints(pattern=r"^[\w .,'()+&@/-]*$", max_length=32),
    AfterValidator(_no_format_characters),
]
AuthName = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{2,8}(?:_(?:[2-9]|[1-9][0-9]))?$", max_length=11)
]
Number = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
TimeZoneName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$", max_length=64)
]

EXAMPLE: dict[str, Any] = {
    "id": "00:15:65:aa:bb:cc",
    "vendor": "yealink",
    "model": "T46U",
    "label": "Reception desk",
    "time_zone": "Europe/Berlin",
    "lines": [{"line": 1, "auth_name": "101"}, {"line": 2, "auth_name": "100_2"}],
    "keys": [{"key": 3, "type": "blf", "extension": "100", "label": "Alice"}],
}


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(ge=1, le=16, description="Account number on the device, 1-based")
    auth_name: AuthName = Field(description="The slot this line carries, e.g. 100 or 100_2")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: int = Field(ge=1, le=100, description="Programmable key number, 1-based")
    type: Literal["blf", "speed_dial"]
    extension: Number
    label: Label | None = None


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    id: str | None = Field(
        default=None,
        max_length=32,
        description="MAC address in any common spelling (omit for a softphone)",
    )
    vendor: str = Field(max_length=32)
    model: str = Field(max_length=32)
    label: Label = ""
    time_zone: TimeZoneName = "UTC"
    lines: list[LineIn] = Field(default_factory=list, max_length=16)
    keys: list[KeyIn] = Field(default_factory=list, max_length=100)


class DeviceUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lines": [{"line": 1, "auth_name": "100_3"}]}]},
    )

    model: str | None = Field(default=None, max_length=32)
    label: Label | None = None
    time_zone: TimeZoneName | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=16)
    keys: list[KeyIn] | None = Field(default=None, max_length=100)


class FetchStatus(BaseModel):
    at: datetime
    address: str | None
    user_agent: str | None
    revision: int | None = Field(description="The APS snapshot revision the device fetched")
    current: bool = Field(description="Whether that revision holds the device's current files")


class DevicePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE,
                    "id": "001565aabbcc",
                    "created_at": "2026-11-26T08:00:00Z",
                    "updated_at": "2026-11-26T08:00:00Z",
                    "enrolled_at": None,
                    "rendered_revision": 3,
                    "last_fetch": None,
                }
            ]
        }
    )

    id: str
    vendor: str
    model: str
    label: str
    time_zone: str
    lines: list[LineIn]
    keys: list[KeyIn]
    created_at: datetime
    updated_at: datetime
    enrolled_at: datetime | None = Field(
        description="When the device first fetched with its own provisioning credential"
    )
    rendered_revision: int | None = Field(
        description="The snapshot revision that last changed this device's files"
    )
    last_fetch: FetchStatus | None
