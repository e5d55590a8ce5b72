"""Walks a call through the rendered dial plan, the way Asterisk would execute it.

Only the applications and functions our dial plan uses are known; anything else fails the
test, so the renderer cannot start using something this walk does not understand.
Substitution follows Asterisk: `${...}` and `$[...]` in an application's data are
expanded first (innermost first), then the data is split into arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.support.asterisk_conf import Dialplan, Section, Step

MAX_STEPS = 500


def _close(text: str, start: int, opener: str, closer: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opener:
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError(f"unbalanced {opener} in {text!r}")


def split_args(data: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses, as Asterisk's argument parser does."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    for char in data:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == sep and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return out


_EXPR_RE = re.compile(r'\s*"([^"]*)"\s*(=|!=)\s*"([^"]*)"\s*')


@dataclass
class Leg:
    endpoint: str
    variables: dict[str, str]
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Call:
    """One channel running the dial plan from `context,exten,1`."""

    plan: Dialplan
    endpoints: dict[str, Section]  # pjsip endpoint sections, for set_var and CHANNEL()
    registered: set[str]
    endpoint: str | None = None
    dial_status: str = "NOANSWER"
    queue_status: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    executed: list[tuple[str, str]] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    hung_up: bool = False

    def __post_init__(self) -> None:
        if self.endpoint is not None:
            self.variables.update(channel_vars(self.endpoints[self.endpoint]))

    # --- substitution ---------------------------------------------------------------

    def expand(self, text: str) -> str:
        while True:
            start = max(text.rfind("${"), text.rfind("$["))
            if start < 0:
                return text
            if text.startswith("${", start):
                end = _close(text, start + 1, "{", "}")
                value = self._function(text[start + 2 : end])
            else:
                end = _close(text, start + 1, "[", "]")
                value = self._expression(text[start + 2 : end])
            text = text[:start] + value + text[end + 1 :]

    def _function(self, body: str) -> str:
        if "(" not in body:
            return self.variables.get(body, "")
        name, args = body[: body.index("(")], body[body.index("(") + 1 : -1]
        if name == "CHANNEL" and args == "endpoint":
            return self.endpoint or ""
        if name == "PJSIP_AOR":
            aor, what = split_args(args)
            assert what == "contact"
            return f"{aor}@@3f2a" if aor in self.registered else ""
        if name == "IF":
            condition, _, branches = args.partition("?")
            yes, _, no = branches.partition(":")
            return yes if condition.strip() not in ("", "0") else no
        raise AssertionError(f"unknown dial-plan function {name}")

    def _expression(self, body: str) -> str:
        match = _EXPR_RE.fullmatch(body)
        assert match, f"unsupported expression {body!r}"
        equal = match.group(1) == match.group(3)
        return "1" if equal == (match.group(2) == "=") else "0"

    # --- execution ------------------------------------------------------------------

    def run(self, context: str, exten: str) -> Call:
        self._run_program(context, exten, [])
        return self

    def _run_program(self, context: str, exten: str, args: list[str]) -> None:
        program = self.plan.program(context, exten)
        assert program, f"{exten} is not in {context}"
        saved = {k: self.variables.pop(k) for k in list(self.variables) if k.startswith("ARG")}
        for i, arg in enumerate(args, start=1):
            self.variables[f"ARG{i}"] = arg
        try:
            self._loop(program)
        finally:
            for k in [k for k in self.variables if k.startswith("ARG")]:
                del self.variables[k]
            self.variables.update(saved)

    def _loop(self, program: list[Step]) -> None:
        index = 0
        for _ in range(MAX_STEPS):
            if index >= len(program) or self.hung_up:
                return
            step = program[index]
            data = self.expand(step.args)
            self.executed.append((step.app, data))
            if step.app == "Return":
                return
            jump = self._apply(step.app, data)
            if jump is not None:
                index = next(i for i, s in enumerate(program) if s.label == jump)
            else:
                index += 1
        raise AssertionError("dial plan loops")

    def _apply(self, app: str, data: str) -> str | None:
        if app == "GotoIf":
            condition, _, label = data.partition("?")
            return label if condition not in ("", "0") else None
        handler = getattr(self, f"_app_{app}", None)
        assert handler is not None, f"unknown application {app}"
        handler(data)
        return None

    def _app_Set(self, data: str) -> None:
        name, _, value = data.partition("=")
        self.variables[name] = value

    def _app_Gosub(self, data: str) -> None:
        context, exten, target = split_args(data)
        priority, _, rest = target.partition("(")
        assert priority == "1"
        self._run_program(context, exten, split_args(rest[:-1]) if rest else [])

    def _app_Dial(self, data: str) -> None:
        targets, _timeout, options = split_args(data)
        match = re.fullmatch(r"c?b\(([^^]+)\^s\^1\)", options)
        assert match, f"unexpected Dial options {options}"
        for target in targets.split("&"):
            tech, _, endpoint = target.partition("/")
            assert tech == "PJSIP" and endpoint in self.endpoints, target
            self.legs.append(self._pre_dial(match.group(1), endpoint))
        self.variables["DIALSTATUS"] = self.dial_status

    def _pre_dial(self, context: str, endpoint: str) -> Leg:
        leg = Call(self.plan, self.endpoints, self.registered, endpoint=endpoint)
        leg.run(context, "s")
        headers = [
            (name, value)
            for app, data in leg.executed
            if app == "Set" and data.startswith("PJSIP_HEADER(add,")
            for name, value in [_header(data)]
        ]
        return Leg(endpoint, leg.variables, headers)

    def _app_Hangup(self, data: str) -> None:
        self.hung_up = True

    def _app_AddQueueMember(self, data: str) -> None:
        self.variables["AQMSTATUS"] = self.queue_status.get("add", "ADDED")

    def _app_RemoveQueueMember(self, data: str) -> None:
        self.variables["RQMSTATUS"] = self.queue_status.get("remove", "REMOVED")

    def _app_Answer(self, data: str) -> None: ...

    def _app_Playback(self, data: str) -> None: ...

    def _app_VoiceMail(self, data: str) -> None: ...

    def _app_Queue(self, data: str) -> None: ...

    def apps(self, name: str) -> list[str]:
        return [data for app, data in self.executed if app == name]


def _header(data: str) -> tuple[str, str]:
    target, _, value = data.partition("=")
    return target[len("PJSIP_HEADER(add,") : -1], value


def channel_vars(endpoint: Section) -> dict[str, str]:
    """The `set_var` values an endpoint puts on every channel it is part of."""
    return dict(v.split("=", 1) for v in endpoint.getall("set_var"))
