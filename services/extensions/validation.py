"""Allow-lists for every value that reaches an Asterisk or phone configuration file.

The API refuses (422) what fails here, and the renderer checks again with the same
functions, so a value that slipped past one layer still cannot break the syntax.
Each check raises `ValueError` with a message that never repeats a secret.

Display names take letters and combining marks of any script, ASCII digits, space and
`' - . _` (no leading `_` or space, no trailing space). Everything Asterisk or a phone
file could read as syntax is refused: `; [ ] # $ { } \\ " < > & , ( ) / @ |` and every
control, format (bidi, zero-width) and separator character other than the plain space.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata

NUMBER_RE = re.compile(r"[1-9][0-9]{1,7}", re.ASCII)
AUTH_NAME_RE = re.compile(r"([1-9][0-9]{1,7})(?:_([2-9]|[1-9][0-9]))?", re.ASCII)
QUEUE_NAME_RE = re.compile(r"[a-z][a-z0-9-]{1,31}", re.ASCII)
PASSWORD_RE = re.compile(r"[A-Za-z0-9._-]{20,64}", re.ASCII)
EMAIL_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+",
    re.ASCII,
)

# queues.conf keeps its own settings in [general].
RESERVED_QUEUE_NAMES = frozenset({"general"})
NAME_MAX = 64
FULL_NAME_MAX = 128
PASSWORD_MIN = 20
GENERATED_PASSWORD_LENGTH = 24
_LETTER_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc"})
_NAME_PUNCTUATION = frozenset(" '-._")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def check_number(value: str) -> str:
    """A dialable number: 2-8 ASCII digits, no leading zero."""
    if not isinstance(value, str) or NUMBER_RE.fullmatch(value) is None:
        raise ValueError("must be 2 to 8 ASCII digits without a leading 0")
    return value


def check_display_name(value: str, max_length: int = NAME_MAX) -> str:
    """A caller-id name safe for Asterisk config, caller id and phone files."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    if value[0] in " _" or value[-1] == " ":
        raise ValueError("must not start with a space or '_' nor end with a space")
    for char in value:
        if not _name_char_allowed(char):
            raise ValueError(
                f"contains a character that is not allowed (U+{ord(char):04X}); "
                "use letters, digits, space and ' - . _"
            )
    return value


def _name_char_allowed(char: str) -> bool:
    if char in _NAME_PUNCTUATION or ("0" <= char <= "9"):
        return True
    return unicodedata.category(char) in _LETTER_CATEGORIES


def check_full_name(value: str) -> str:
    return check_display_name(value, FULL_NAME_MAX)


def check_email(value: str) -> str:
    """An address that is also safe inside a config file (no quoting, no `${`)."""
    if EMAIL_RE.fullmatch(value) is None or len(value) > 254:
        raise ValueError("must be a plain address like alice@example.com")
    return value


def check_password(value: str) -> str:
    """At least 20 characters of `A-Z a-z 0-9 . _ -` (the message never echoes it)."""
    if PASSWORD_RE.fullmatch(value) is None:
        raise ValueError(f"must be {PASSWORD_MIN} to 64 characters from A-Z, a-z, 0-9 and . _ -")
    return value


def generate_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))


def check_queue_name(value: str) -> str:
    if QUEUE_NAME_RE.fullmatch(value) is None or value in RESERVED_QUEUE_NAMES:
        raise ValueError(
            "must be 2 to 32 of a-z, 0-9 and '-', starting with a letter (not 'general')"
        )
    return value


def auth_name(number: str, index: int) -> str:
    """The SIP auth name of slot `index` of `number`: `100`, `100_2`, …"""
    return number if index == 1 else f"{number}_{index}"


def parse_auth_name(value: str) -> tuple[str, int]:
    """`"100_2"` → `("100", 2)`; raises ValueError for `100_`, `100_0`, `100_1`, …"""
    match = AUTH_NAME_RE.fullmatch(value)
    if match is None:
        raise ValueError("must be an extension number, optionally followed by _2 … _99")
    return match.group(1), int(match.group(2) or 1)
