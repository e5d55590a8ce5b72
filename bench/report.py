"""docs/benchmarks.md: the date, the machine, the command, and every figure against its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.profile import Profile

NOTES = Path(__file__).with_name("notes.md")


@dataclass(frozen=True)
class Figure:
    """One measured figure; `met` is None where the figure has no target."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    command: str
    machine: dict[str, str]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    sections: dict[str, list[Figure]] = field(default_factory=dict)
    profiles: dict[str, list[Profile]] = field(default_factory=dict)

    def add(self, section: str, figure: Figure) -> None:
        self.sections.setdefault(section, []).append(figure)

    def add_profiles(self, phase: str, profiles: list[Profile]) -> None:
        self.profiles[phase] = profiles

    def unmet(self) -> list[str]:
        return [
            f"{section.split(' (')[0]}: {f.name}"
            for section, figures in self.sections.items()
            for f in figures
            if f.met is False
        ]


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: ""}[met]


def render(report: Report, elapsed_seconds: float, notes: str | None = None) -> str:
    lines = [
        "# ShareLine benchmarks",
        "",
        "Written by `make bench` (`bench/`); do not edit by hand — the analysis at the end",
        "comes from `bench/notes.md`.",
        "",
        f"- date: {report.started:%Y-%m-%d %H:%M} UTC (whole run {elapsed_seconds:.0f} s)",
        f"- command: `{report.command}`",
    ]
    lines += [f"- {key}: {value}" for key, value in report.machine.items()]
    for section, figures in report.sections.items():
        lines += [
            "",
            f"## {section}",
            "",
            "| figure | measured | target | |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {f.name} | {f.value} | {f.target} | {_verdict(f.met)} |" for f in figures]
    unmet = report.unmet()
    lines += ["", "## Summary", ""]
    if unmet:
        lines += [f"{len(unmet)} figures miss their target:", ""]
        lines += [f"- {name}" for name in unmet]
    else:
        lines.append("Every target met.")
    lines += _profile_lines(report.profiles)
    text = notes if notes is not None else (NOTES.read_text() if NOTES.exists() else "")
    if text.strip():
        lines += ["", text.strip()]
    return "\n".join(lines) + "\n"


def _profile_lines(profiles: dict[str, list[Profile]]) -> list[str]:
    if not profiles:
        return []
    lines = [
        "",
        "## Where the time goes (py-spy)",
        "",
        "Each phase below ran once more, unmeasured, with py-spy sampling the services from",
        'outside. "Running" is the share of samples whose innermost Python frame was the',
        'function (time in C code it called counts there too); "our code" is the share of',
        "samples in which one of our functions was on the stack, callees included.",
    ]
    for phase, results in profiles.items():
        for profile in results:
            lines += ["", f"### {phase}: {profile.service}", ""]
            if profile.problem:
                lines.append(f"No profile: {profile.problem}.")
                continue
            lines += [f"{profile.samples:,} samples.", ""]
            lines += _share_table("running", profile.top_running())
            lines += ["", *_share_table("our code, inclusive", profile.top_own())]
    return lines


def _share_table(heading: str, rows: list[tuple[float, str]]) -> list[str]:
    lines = [f"| {heading} | function |", "| ---: | --- |"]
    return lines + [f"| {share:.0%} | `{name}` |" for share, name in rows]
