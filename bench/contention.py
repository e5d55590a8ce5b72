"""Allocation contention: many concurrent reservations against a few free units.

wrk sends them (contention.lua), one connection per reservation, straight to licensing
with a service token as APS would; a Python client would spend more CPU than licensing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.wrk_run import run_wrk

LUA = Path(__file__).with_name("contention.lua")


@dataclass(frozen=True)
class ContentionResult:
    requests: int
    free_before: int
    granted: int
    refused: int
    errors: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def parse_contention(out: str, count: int, free_before: int, seconds: float) -> ContentionResult:
    """Idle connections keep asking for /healthz until the last reservation is answered,
    so wrk's own duration and rate include them: `seconds` is the runner's own clock."""
    answers = re.search(r"RESERVATIONS 201=(\d+) 409=(\d+) other=(\d+)", out)
    if not answers:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    granted, refused, other = (int(g) for g in answers.groups())
    return ContentionResult(
        requests=count,
        free_before=free_before,
        granted=granted,
        refused=refused,
        errors=other + (count - granted - refused - other),
        seconds=seconds,
    )


def contend(
    licensing_url: str, token: str, *, pool: str, count: int, free_before: int
) -> ContentionResult:
    """`count` reservations of one unit each for distinct holders, all sent at once."""
    prefix = f"softphone:bench-{uuid.uuid4().hex[:8]}"
    out, seconds = run_wrk(
        licensing_url,
        LUA,
        [str(count), "1", pool, prefix, token],
        threads=1,
        connections=count,
    )
    return parse_contention(out, count, free_before, seconds)
