"""Allow-lists for every value that reaches an Asterisk file.

The API validates input first; the renderer checks again here (defence in depth), so a
value that slipped past the API, or came from an old database row, still cannot open a
section, start a comment, include a file or add a `Dial()` leg. Nothing is ever stripped
or repaired: a value either passes whole or the render fails with `UnsafeConfigValue`.
"""

from __future__ import annotations

import re
import unicodedata

from services.common.errors import Unprocessable

# ASCII only: `\d` and `[0-9]` under re.UNICODE would also accept Arabic-Indic digits.
NUMBER_RE = re.compile(r"[0-9]{2,8}", re.ASCII)
AUTH_NAME_RE = re.compile(r"[0-9]{2,8}(_[1-9][0-9]?)?", re.ASCII)
QUEUE_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)
IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}", re.ASCII)
FEATURE_CODE_RE = re.compile(r"\*[0-9]{1,4}", re.ASCII)
PASSWORD_RE = re.compile(r"[A-Za-z0-9._~+=!*%^-]{20,128}", re.ASCII)

PASSWORD_ALPHABET = "A-Z a-z 0-9 . _ ~ + = ! * % ^ -"  # noqa: S105 - a description, not a secret
NAME_MAX_LENGTH = 64
# Punctuation a display name may carry. Everything Asterisk's config or dial-plan parsers
# treat specially (; [ ] # $ & , ( ) / @ " \ and control characters) is absent.
NAME_PUNCTUATION = frozenset(" .'-_+!?:*=~<>")
# The display names made only of ASCII letters, digits and NAME_PUNCTUATION, without a
# space at either end: all of them pass the character-by-character check below, and one
# regex match costs a tenth of it (100,000 names per commit).
_PLAIN_NAME_RE = re.compile(
    "(?! )[A-Za-z0-9"
    + "".join(re.escape(char) for char in sorted(NAME_PUNCTUATION))
    + f"]{{1,{NAME_MAX_LENGTH}}}(?<! )",
    re.ASCII,
)
# Reserved by queues.conf for its own settings.
RESERVED_QUEUE_NAMES = frozenset({"general"})
QUEUE_STRATEGIES = frozenset(
    {
        "ringall",
        "leastrecent",
        "fewestcalls",
        "random",
        "rrmemory",
        "rrordered",
        "linear",
        "wrandom",
    }
)


class UnsafeConfigValue(Unprocessable):
    """A value would change the meaning of a generated Asterisk file; nothing is rendered."""

    slug = "unsafe-config-value"
    title = "Unsafe configuration value"


def _refuse(what: str, why: str) -> UnsafeConfigValue:
    # The offending value is deliberately not echoed: it may be a password.
    return UnsafeConfigValue(f"{what} {why}", field=what)


def check_number(value: str, what: str = "number") -> str:
    if not isinstance(value, str) or not NUMBER_RE.fullmatch(value):
        raise _refuse(what, "must be 2 to 8 ASCII digits")
    return value


def check_auth_name(value: str, number: str, index: int) -> str:
    expected = number if index == 1 else f"{number}_{index}"
    if not isinstance(value, str) or not AUTH_NAME_RE.fullmatch(value) or value != expected:
        raise _refuse(f"slot {index} of {number}", f"must have auth name {expected}")
    return value


def check_password(value: str, number: str) -> str:
    if not isinstance(value, str) or not PASSWORD_RE.fullmatch(value):
        raise _refuse(
            f"password of {number}",
            f"must be 20 to 128 characters from {PASSWORD_ALPHABET}",
        )
    return value


def check_display_name(value: str, number: str) -> str:
    if isinstance(value, str) and _PLAIN_NAME_RE.fullmatch(value):
        return value
    return check_display_name_by_character(value, number)


def check_display_name_by_character(value: str, number: str) -> str:
    """`check_display_name` without the ASCII shortcut: the rule itself, and the message."""
    what = f"name of {number}"
    if not isinstance(value, str) or not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise _refuse(what, f"must be 1 to {NAME_MAX_LENGTH} characters")
    if value != value.strip(" "):
        raise _refuse(what, "must not start or end with a space")
    for char in value:
        if char in NAME_PUNCTUATION:
            continue
        category = unicodedata.category(char)
        # Letters, combining marks and digits only: no controls (Cc), no format characters
        # (Cf: bidi overrides, zero-width joiners), no line/paragraph separators (Zl, Zp).
        if category[0] not in "LM" and category != "Nd":
            raise _refuse(what, f"must not contain the character U+{ord(char):04X}")
    return value


def check_queue_name(value: str) -> str:
    if (
        not isinstance(value, str)
        or not QUEUE_NAME_RE.fullmatch(value)
        or value in RESERVED_QUEUE_NAMES
    ):
        raise _refuse("queue name", "must be a lowercase identifier (a-z, 0-9, _ or -)")
    return value


def check_identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER_RE.fullmatch(value):
        raise _refuse(what, "must be a letter followed by letters, digits, _ or -")
    return value


def check_feature_code(value: str, what: str) -> str:
    if not isinstance(value, str) or not FEATURE_CODE_RE.fullmatch(value):
        raise _refuse(what, "must be * followed by 1 to 4 digits")
    return value


def check_range(value: int, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(what, f"must be a whole number from {low} to {high}")
    return value
