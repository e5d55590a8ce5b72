"""Annotated pydantic types for API bodies, each backed by an allow-list in `validation`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field

from services.extensions import validation

ExtensionNumber = Annotated[
    str,
    Field(max_length=8, examples=["100"], description="2-8 ASCII digits, no leading 0"),
    AfterValidator(validation.check_number),
]
DisplayName = Annotated[
    str,
    Field(
        max_length=validation.NAME_MAX,
        examples=["Alice"],
        description="Caller-id name: letters, digits, space and ' - . _ (max 64)",
    ),
    AfterValidator(validation.check_display_name),
]
FullName = Annotated[
    str,
    Field(max_length=validation.FULL_NAME_MAX, examples=["Alice Smith"]),
    AfterValidator(validation.check_full_name),
]
Email = Annotated[
    EmailStr,
    Field(max_length=254, examples=["alice@example.com"]),
    AfterValidator(validation.check_email),
]
Password = Annotated[
    str,
    Field(
        max_length=64,
        description="SIP password: 20-64 characters from A-Z a-z 0-9 . _ - (generated when absent)",
    ),
    AfterValidator(validation.check_password),
]
QueueName = Annotated[
    str,
    Field(max_length=32, examples=["support"], description="a-z, 0-9 and '-', 2-32 chars"),
    AfterValidator(validation.check_queue_name),
]
AuthName = Annotated[str, Field(max_length=11, examples=["100_2"])]
