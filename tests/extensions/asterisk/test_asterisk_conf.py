"""The strict config reader refuses what Asterisk would read differently."""

from __future__ import annotations

import pytest

from tests.support.asterisk_conf import (
    ConfigSyntaxError,
    parse_callerid,
    parse_config,
    parse_dialplan,
    pjsip_duplicates,
)


def test_sections_keys_and_both_assignment_forms_in_order() -> None:
    sections = parse_config("[a]\nx = 1\ny => 2\n\n[b](!)\nz=3 ; note\n")
    assert [(s.name, s.flags, s.items) for s in sections] == [
        ("a", (), [("x", "1"), ("y", "2")]),
        ("b", ("!",), [("z", "3")]),
    ]


def test_escaped_semicolon_is_literal_and_plain_semicolon_cuts() -> None:
    (section,) = parse_config("[a]\npassword=abc\\;def\nother=abc;def\n")
    assert section.get("password") == "abc;def"
    assert section.get("other") == "abc"


def test_block_comments_span_lines() -> None:
    (section,) = parse_config("[a]\nx=1 ;-- hidden\nevil=1\n--; y=2\n")
    assert section.items == [("x", "1"), ("y", "2")]


def test_template_flags() -> None:
    (section,) = parse_config("[tpl](!,base)\nx=1\n")
    assert section.flags == ("!", "base")


@pytest.mark.parametrize(
    "text",
    [
        "x=1\n[a]\n",  # key outside a section
        "[a]\n#include evil.conf\n",
        "[a]\n  #exec /bin/sh\n",
        "[a]\n#tryinclude x\n",
        "[a] junk\nx=1\n",
        "[a]\njust words\n",
        "[a]\nbad key=1\n",
        "[a]\nx=1\\\ny=2\n",  # no line continuation in Asterisk
        "[a]\nx=1\r\n",
        "[a]\nx=a\x00b\n",
        "[a]\nx=a\u2028[evil]\n",
        "[a]\nx=1 ;-- never closed\n",
        "[a]\nx=1\n[a]\ny=2\n",  # duplicate section
        "[]\n",
        "[a]()\n",
    ],
)
def test_refuses_ambiguous_input(text: str) -> None:
    with pytest.raises(ConfigSyntaxError):
        parse_config(text)


def test_pjsip_allows_a_name_twice_only_for_different_types() -> None:
    text = "[100]\ntype=endpoint\n[100]\ntype=aor\n"
    assert len(parse_config(text, allow_duplicate=pjsip_duplicates)) == 2
    with pytest.raises(ConfigSyntaxError):
        parse_config(text + "[100]\ntype=aor\n", allow_duplicate=pjsip_duplicates)


def test_dialplan_resolves_priorities_labels_and_hints() -> None:
    plan = parse_dialplan(
        parse_config(
            "[ctx]\nexten => 100,hint,PJSIP/100&PJSIP/100_2\n"
            "exten => 100,1,Answer()\n same => n(x),Dial(PJSIP/100,20,c)\n"
            " same => n,Hangup\n"
        )
    )
    assert plan.hints == {("ctx", "100"): "PJSIP/100&PJSIP/100_2"}
    steps = plan.program("ctx", "100")
    assert [(s.priority, s.label, s.app, s.args) for s in steps] == [
        (1, None, "Answer", ""),
        (2, "x", "Dial", "PJSIP/100,20,c"),
        (3, None, "Hangup", ""),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "same => n,Answer()",  # same without exten
        "exten => 100,n,Answer()",  # n before 1
        "exten => 100,2,Answer()",  # does not start at 1
        "exten => 100,1,Answer()\nexten => 100,1,Hangup()",  # priority repeated
        "exten => 100,1,Dial(PJSIP/100",  # unbalanced
        "exten => 100_2,1,Answer()",  # not an extension name
        "exten => 100,1,Answer()\n same => n(a),Wait(1)\n same => n(a),Wait(1)",
        "foo => bar",
    ],
)
def test_dialplan_refuses_malformed_lines(body: str) -> None:
    with pytest.raises(ConfigSyntaxError):
        parse_dialplan(parse_config("[ctx]\n" + body + "\n"))


@pytest.mark.parametrize(
    ("value", "name", "number"),
    [
        ('"Alice" <100>', "Alice", "100"),
        ('"A <b> c" <100>', "A <b> c", "100"),
        ("Alice <100>", "Alice", "100"),
        ('"Ali"ce" <100>', "Ali", "100"),  # why the renderer refuses double quotes
    ],
)
def test_callerid_split_matches_asterisk(value: str, name: str, number: str) -> None:
    assert parse_callerid(value) == (name, number)
