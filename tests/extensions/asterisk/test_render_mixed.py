"""The renderer's output stays byte for byte what it was, across every rendering case.

golden/mixed/ was written by the line-by-line renderer before it was rewritten for speed
(one formatted piece per slot, a regex shortcut for plain display names); these tests
hold the rewrite to the same bytes and the shortcut to the same verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.extensions.asterisk import safety
from services.extensions.asterisk.render import FILE_NAMES, UnsafeConfigValue, render_revision
from tests.extensions.asterisk.mixed_snapshot import mixed_snapshot

GOLDEN = Path(__file__).parent / "golden" / "mixed"


@pytest.mark.parametrize("name", FILE_NAMES)
def test_mixed_snapshot_renders_the_golden_bytes(name: str) -> None:
    assert render_revision(mixed_snapshot())[name] == (GOLDEN / name).read_bytes()


def _verdict(check: object, value: str) -> str:
    try:
        check(value, "100")  # type: ignore[operator]
    except UnsafeConfigValue as exc:
        return str(exc.detail)
    return "accepted"


# ASCII that the shortcut covers, its edges (space, quote, backslash, `;`, `[`), and
# characters only the character-by-character rule decides (letters, marks, controls).
NAME_ALPHABET = st.sampled_from(
    [*"aZ09 .'-_+!?:*=~<>\"\\;[]#,()/@&$\t\n", "é", "\u0301", "\u202e", "\u2028", "٣"]
)


@settings(max_examples=500, deadline=None)
@given(st.text(NAME_ALPHABET, min_size=0, max_size=70))
def test_the_plain_name_shortcut_gives_the_rules_verdict(name: str) -> None:
    assert _verdict(safety.check_display_name, name) == _verdict(
        safety.check_display_name_by_character, name
    )


@pytest.mark.parametrize(
    "name", [" Alice", "Alice ", "A" * 65, "", "Al;ce", 'Al"ce', "Al\\ce", "Al\nce"]
)
def test_names_the_shortcut_refuses_are_still_refused(name: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        safety.check_display_name(name, "100")
