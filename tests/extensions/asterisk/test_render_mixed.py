"""The renderer's output stays byte for byte what it was, across every rendering case.

golden/mixed/ was written by the line-by-line renderer before it was rewritten for speed
(one formatted piece per slot, shortcuts for plain display names and plain slots); these
tests hold the rewrite to the same bytes and the shortcuts to the same verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.extensions.asterisk import safety, validate
from services.extensions.asterisk.model import SlotSpec
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


@st.composite
def slots_at_a_position(draw: st.DrawFn) -> tuple[SlotSpec, int]:
    """Mostly slots that are nearly right, so each single wrong field gets its turn."""
    position = draw(st.sampled_from([1, 2, 3, 16, 17]))
    expected = "100" if position == 1 else f"100_{position}"
    one_of = st.sampled_from
    auth_name = draw(one_of([expected] * 6 + ["100_02", "0100_2", "1000_2", "100\n", "100"]))
    index = draw(one_of([position] * 6 + [0, -1, 17, True, float(position), str(position)]))
    mode = draw(one_of(["ring", "silent", "distinctive", "distinctive", "Ring", "loud", ""]))
    tone = draw(one_of([1, 2, 3, 4, 5, None, 0, 6, True, 3.0, "3"]))
    return SlotSpec(auth_name, index, mode, tone), position  # type: ignore[arg-type]


@settings(max_examples=1000, deadline=None)
@given(slots_at_a_position())
def test_a_slot_taken_as_plain_passes_every_slot_check(case: tuple[SlotSpec, int]) -> None:
    slot, position = case
    if validate.is_plain_slot(slot, "100", position):
        validate._check_slot(slot, "100")
        assert slot.index == position


@pytest.mark.parametrize(
    ("slot", "position", "plain"),
    [
        (SlotSpec("100", 1), 1, True),
        (SlotSpec("100_2", 2, "distinctive", 5), 2, True),
        (SlotSpec("100_2", 2, "silent"), 2, True),
        (SlotSpec("100_2", 2), 1, False),  # out of order: sorted by the full path
        (SlotSpec("100_2", True), 1, False),  # type: ignore[arg-type]
        (SlotSpec("100_2", 2, "distinctive", None), 2, False),
        (SlotSpec("100_2", 2, "distinctive", 6), 2, False),
        (SlotSpec("100_02", 2), 2, False),
        (SlotSpec("100_17", 17), 17, False),
    ],
)
def test_plain_slots(slot: SlotSpec, position: int, plain: bool) -> None:
    assert validate.is_plain_slot(slot, "100", position) is plain
