"""docs/benchmarks.md: the date, the machine, the command, and every figure against its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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

    def add(self, section: str, figure: Figure) -> None:
        self.sections.setdefault(section, []).append(figure)

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
    text = notes if notes is not None else (NOTES.read_text() if NOTES.exists() else "")
    if text.strip():
        lines += ["", text.strip()]
    return "\n".join(lines) + "\n"
