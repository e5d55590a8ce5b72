"""The API's allow-lists never let through what the renderer would refuse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.extensions import validation
from services.extensions.asterisk import safety
from services.extensions.asterisk.validate import RING_MODES
from services.extensions.queues.schemas import Strategy


def _accepts(check, value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=70))
def test_every_name_the_api_accepts_the_renderer_accepts(name: str) -> None:
    if _accepts(validation.check_display_name, name):
        safety.check_display_name(name, "100")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789_\u0661\uff11a", min_size=1, max_size=10))
def test_every_number_the_api_accepts_the_renderer_accepts(number: str) -> None:
    if _accepts(validation.check_number, number):
        safety.check_number(number)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_;", min_size=1, max_size=34))
def test_every_queue_name_the_api_accepts_the_renderer_accepts(name: str) -> None:
    if _accepts(validation.check_queue_name, name):
        safety.check_queue_name(name)


def test_generated_passwords_pass_both_checks() -> None:
    for _ in range(50):
        password = validation.generate_password()
        validation.check_password(password)
        safety.check_password(password, "100")


def test_the_api_offers_exactly_the_renderers_strategies_and_ring_modes() -> None:
    assert set(Strategy.__args__) == safety.QUEUE_STRATEGIES
    assert {"ring", "distinctive", "silent"} == RING_MODES


@pytest.mark.parametrize(
    ("auth_name", "parsed"),
    [("100", ("100", 1)), ("100_2", ("100", 2)), ("12345678_16", ("12345678", 16))],
)
def test_auth_names_parse(auth_name: str, parsed: tuple[str, int]) -> None:
    assert validation.parse_auth_name(auth_name) == parsed
    assert validation.auth_name(*parsed) == auth_name


@pytest.mark.parametrize(
    "bad", ["100_", "100_0", "100_1", "100_01", "0100", "100_2_3", "\u0661\u0660\u0660"]
)
def test_bad_auth_names_do_not_parse(bad: str) -> None:
    with pytest.raises(ValueError):
        validation.parse_auth_name(bad)
