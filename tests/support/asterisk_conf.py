"""A strict reader of Asterisk configuration files, for tests.

It accepts the subset of Asterisk's config syntax our renderer may produce and refuses
anything that Asterisk would read differently from what a quick look suggests:

- `[name]` opens a section; `[name](!)`, `[name](tpl)` and `[name](!,tpl)` carry template
  flags. Anything after the closing `]` or `)` is refused.
- `key = value` and `key => value` are the same to Asterisk; both are kept as written.
- `;` starts a comment unless written `\\;` (which reads as a literal `;`); `;--` … `--;`
  is a block comment and may span lines.
- `#include`, `#tryinclude` and `#exec` are refused: our files must contain none.
- Asterisk has no line continuation: a line ending in `\\` is refused as ambiguous.
- A key/value line before the first section, a line that is neither blank, comment,
  section nor `key = value`, a control character, NUL, `\\r` or a Unicode line separator
  are refused. A repeated section name is refused unless the caller allows it.

`parse_dialplan` reads `exten =>` / `same =>` lines into entries with resolved
priorities; `parse_callerid` splits a `callerid` value the way Asterisk does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


class ConfigSyntaxError(ValueError):
    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


@dataclass
class Section:
    name: str
    lineno: int
    flags: tuple[str, ...] = ()
    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        values = self.getall(key)
        if len(values) > 1:
            raise KeyError(f"[{self.name}] has {key} {len(values)} times")
        return values[0] if values else None

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]

    def keys(self) -> list[str]:
        return [k for k, _ in self.items]


_SECTION_RE = re.compile(r"\[([^\[\]\s;]+)\](?:\(([^()]*)\))?")
_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_DIRECTIVE_RE = re.compile(r"\s*#\s*(include|tryinclude|exec)\b", re.IGNORECASE)


def _strip_comments(line: str, in_block: bool, lineno: int) -> tuple[str, bool]:
    """Remove comments from one line; returns the kept text and whether a block is open."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("--;", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 3, False
            continue
        char = line[i]
        if char == "\\" and line.startswith(";", i + 1):
            out.append(";")
            i += 2
        elif char == ";":
            if line.startswith(";--", i):
                in_block, i = True, i + 3
                continue
            break
        else:
            out.append(char)
            i += 1
    return "".join(out), in_block


def _section(text: str, lineno: int) -> Section:
    match = _SECTION_RE.fullmatch(text)
    if not match:
        raise ConfigSyntaxError(lineno, f"malformed section header {text!r}")
    raw_flags = match.group(2)
    flags = tuple(f.strip() for f in raw_flags.split(",")) if raw_flags is not None else ()
    if any(not f for f in flags):
        raise ConfigSyntaxError(lineno, f"empty template flag in {text!r}")
    return Section(match.group(1), lineno, flags)


def _item(text: str, lineno: int) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigSyntaxError(lineno, f"not a key = value line: {text!r}")
    key, _, value = text.partition("=")
    if value.startswith(">"):
        value = value[1:]
    key = key.strip()
    if not _KEY_RE.fullmatch(key):
        raise ConfigSyntaxError(lineno, f"malformed key {key!r}")
    return key, value.strip()


def parse_config(
    text: str,
    *,
    allow_duplicate: Callable[[Section, Section], bool] | None = None,
) -> list[Section]:
    """Parse a whole file into ordered sections; raise `ConfigSyntaxError` on anything odd.

    `allow_duplicate(earlier, later)` decides whether a repeated section name is legal
    (pjsip.conf names an endpoint and its AOR alike); it sees both sections complete.
    """
    if "\r" in text or "\x00" in text:
        raise ConfigSyntaxError(0, "carriage return or NUL in file")
    sections: list[Section] = []
    in_block = False
    for lineno, raw in enumerate(text.split("\n"), start=1):
        bad = _FORBIDDEN_CHARS.search(raw)
        if bad:
            raise ConfigSyntaxError(lineno, f"control character U+{ord(bad.group()):04X}")
        if _DIRECTIVE_RE.match(raw):
            raise ConfigSyntaxError(lineno, "#include/#exec directive")
        if raw.rstrip().endswith("\\") and not in_block:
            raise ConfigSyntaxError(lineno, "line ends in a backslash")
        kept, in_block = _strip_comments(raw, in_block, lineno)
        text_ = kept.strip()
        if not text_:
            continue
        if text_.startswith("["):
            sections.append(_section(text_, lineno))
        elif not sections:
            raise ConfigSyntaxError(lineno, "key outside any section")
        else:
            sections[-1].items.append(_item(text_, lineno))
    if in_block:
        raise ConfigSyntaxError(0, "block comment ;-- never closed")
    _check_duplicates(sections, allow_duplicate)
    return sections


def _check_duplicates(
    sections: list[Section], allow: Callable[[Section, Section], bool] | None
) -> None:
    seen: dict[str, list[Section]] = {}
    for section in sections:
        for earlier in seen.get(section.name, []):
            if allow is None or not allow(earlier, section):
                raise ConfigSyntaxError(section.lineno, f"section [{section.name}] repeated")
        seen.setdefault(section.name, []).append(section)


def pjsip_duplicates(earlier: Section, later: Section) -> bool:
    """pjsip.conf: one name may be reused by objects of different types only."""
    return earlier.get("type") != later.get("type")


def by_type(sections: Iterable[Section], type_: str) -> dict[str, Section]:
    return {s.name: s for s in sections if s.get("type") == type_}


# --- dial plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    priority: int
    label: str | None
    app: str
    args: str


@dataclass
class Dialplan:
    steps: list[Step] = field(default_factory=list)
    hints: dict[tuple[str, str], str] = field(default_factory=dict)
    includes: dict[str, list[str]] = field(default_factory=dict)

    def extensions(self, context: str) -> set[str]:
        found = {s.exten for s in self.steps if s.context == context}
        return found | {e for c, e in self.hints if c == context}

    def program(self, context: str, exten: str) -> list[Step]:
        return sorted(
            (s for s in self.steps if s.context == context and s.exten == exten),
            key=lambda s: s.priority,
        )

    def label(self, context: str, exten: str, label: str) -> Step:
        for step in self.program(context, exten):
            if step.label == label:
                return step
        raise KeyError(f"{context},{exten} has no label {label}")


_PRIORITY_RE = re.compile(r"(?:(\d+)|n)(?:\(([A-Za-z][A-Za-z0-9_-]*)\))?")
_APP_RE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?")
_EXTEN_RE = re.compile(r"[0-9*#]+|s|_[0-9A-Za-z*#.!\[\]-]+")


def _application(text: str, lineno: int) -> tuple[str, str]:
    match = _APP_RE.fullmatch(text.strip())
    if not match:
        raise ConfigSyntaxError(lineno, f"malformed application {text!r}")
    args = match.group(2) or ""
    if args.count("(") != args.count(")"):
        raise ConfigSyntaxError(lineno, f"unbalanced parentheses in {text!r}")
    return match.group(1), args


class _ContextReader:
    def __init__(self, plan: Dialplan, context: str) -> None:
        self.plan, self.context = plan, context
        self.current: str | None = None
        self.last: dict[str, int] = {}
        self.labels: dict[str, set[str]] = {}

    def exten(self, value: str, lineno: int) -> None:
        exten, sep, rest = value.partition(",")
        exten = exten.strip()
        if not sep or not _EXTEN_RE.fullmatch(exten):
            raise ConfigSyntaxError(lineno, f"malformed extension in {value!r}")
        priority, sep, app = rest.partition(",")
        if not sep:
            raise ConfigSyntaxError(lineno, f"missing application in {value!r}")
        self.current = exten
        if priority.strip() == "hint":
            if (self.context, exten) in self.plan.hints:
                raise ConfigSyntaxError(lineno, f"second hint for {exten}")
            self.plan.hints[(self.context, exten)] = app.strip()
            return
        self._step(priority.strip(), app, lineno)

    def same(self, value: str, lineno: int) -> None:
        if self.current is None:
            raise ConfigSyntaxError(lineno, "same => without a preceding exten =>")
        priority, sep, app = value.partition(",")
        if not sep:
            raise ConfigSyntaxError(lineno, f"missing application in {value!r}")
        self._step(priority.strip(), app, lineno)

    def _step(self, priority: str, app_text: str, lineno: int) -> None:
        assert self.current is not None
        match = _PRIORITY_RE.fullmatch(priority)
        if not match:
            raise ConfigSyntaxError(lineno, f"malformed priority {priority!r}")
        previous = self.last.get(self.current)
        if match.group(1):
            number = int(match.group(1))
        elif previous is None:
            raise ConfigSyntaxError(lineno, f"priority n before priority 1 in {self.current}")
        else:
            number = previous + 1
        if previous is not None and number <= previous:
            raise ConfigSyntaxError(lineno, f"priority {number} repeated in {self.current}")
        if previous is None and number != 1:
            raise ConfigSyntaxError(lineno, f"{self.current} does not start at priority 1")
        label = match.group(2)
        labels = self.labels.setdefault(self.current, set())
        if label in labels:
            raise ConfigSyntaxError(lineno, f"label {label} repeated in {self.current}")
        if label:
            labels.add(label)
        self.last[self.current] = number
        app, args = _application(app_text, lineno)
        self.plan.steps.append(Step(self.context, self.current, number, label, app, args))


def parse_dialplan(sections: list[Section]) -> Dialplan:
    """Read `exten`, `same` and `include` lines of every context; refuse any other key."""
    plan = Dialplan()
    for section in sections:
        if section.flags:
            raise ConfigSyntaxError(section.lineno, "template flags on a dial-plan context")
        reader = _ContextReader(plan, section.name)
        for key, value in section.items:
            if key == "exten":
                reader.exten(value, section.lineno)
            elif key == "same":
                reader.same(value, section.lineno)
            elif key == "include":
                plan.includes.setdefault(section.name, []).append(value)
            else:
                raise ConfigSyntaxError(section.lineno, f"unexpected key {key} in dial plan")
    return plan


# --- caller id ---------------------------------------------------------------------------


def parse_callerid(value: str) -> tuple[str | None, str | None]:
    """Split `"Name" <100>` as Asterisk's `ast_callerid_parse` does (main/callerid.c).

    The number is inside the last `<` and the `>` after it; the name is the text between
    the first two double quotes before it (or the trimmed text when unquoted).
    """
    ls = value.rfind("<")
    le = value.rfind(">") if ls >= 0 else -1
    if ls < 0 or le < ls:
        return None, value.strip() or None
    before = value[:ls]
    number = value[ls + 1 : le]
    ns = before.find('"')
    ne = before.find('"', ns + 1) if ns >= 0 else -1
    if ns >= 0 and ne >= 0:
        return before[ns + 1 : ne], number
    if ns >= 0:
        return None, number
    return before.strip(), number
