"""Run wrk over a fixed list of phone fetches and read its figures."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.nginx_static import ensure_wrk

LUA = Path(__file__).with_name("storm.lua")
MAX_SECONDS = 300
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class StormResult:
    """One pass of the list: every fetch once."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ok_200: int
    ok_304: int
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(out: str, listed: int) -> StormResult:
    """wrk's --latency output plus the STATUS line storm.lua prints."""
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M))
    done = re.search(r"\d+ requests in ([\d.]+\w+)", out)
    status = re.search(r"STATUS 200=(\d+) 304=(\d+) other=(\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if not done or not status:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    ok_200, ok_304, other = (int(g) for g in status.groups())
    # A fetch that never got its answer (a socket error) is missing from the counts.
    unanswered = listed - (ok_200 + ok_304 + other)
    socket_errors = sum(int(g) for g in sockets.groups()) if sockets else 0
    return StormResult(
        requests=listed,
        seconds=_ms(done.group(1)) / 1000.0,
        p50_ms=_ms(percentiles.get("50", "nan")),
        p99_ms=_ms(percentiles.get("99", "nan")),
        ok_200=ok_200,
        ok_304=ok_304,
        errors=other + max(unanswered, 0, socket_errors),
    )


def run_wrk(
    base_url: str,
    lua: Path,
    args: list[str],
    *,
    threads: int,
    connections: int,
    env: dict[str, str] | None = None,
) -> tuple[str, float]:
    """wrk's output, and the seconds until every thread had its answers, for a script
    that ends the run itself (it gets a marker folder as its last argument and leaves one
    file there per thread that has all its answers)."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="wrk-") as markers:
        proc = subprocess.Popen(
            [
                wrk,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{MAX_SECONDS}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(lua),
                base_url,
                "--",
                *args,
                markers,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        started = time.perf_counter()
        # wrk itself would sleep out its whole duration; SIGINT makes it report at once.
        while proc.poll() is None and len(list(Path(markers).iterdir())) < threads:
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err}")
    return out, seconds


def run_storm(
    base_url: str,
    request_file: Path,
    *,
    threads: int = 1,
    connections: int = 64,
    service_token: str | None = None,
) -> StormResult:
    """Fetch every line of `request_file` once, `connections` at a time; with a service
    token, as the gateway would (to measure APS without it)."""
    listed = sum(1 for _ in request_file.open())
    env = {"STORM_SERVICE_TOKEN": service_token} if service_token else {}
    out, _ = run_wrk(
        base_url,
        LUA,
        [str(request_file), str(threads)],
        threads=threads,
        connections=connections,
        env=env,
    )
    return parse_wrk(out, listed)
