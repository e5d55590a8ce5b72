"""`python -m bench` (`make bench`): boot storm, commit scaling, allocation contention.

Starts the four services as real processes (tests/support/suite.py), seeds them, measures,
and writes docs/benchmarks.md. Nothing here is a test: figures are recorded, not asserted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import httpx

from bench import seed
from bench.contention import contend
from bench.license import install_license, vendor_keypair
from bench.machine import describe, peak_rss_mib, reset_peak_rss
from bench.nginx_static import StaticServer
from bench.phones import (
    hardware_vendors,
    plan_fetches,
    snapshot_files,
    static_fetches,
    write_request_file,
    write_static_tree,
)
from bench.profile import profiled
from bench.report import Figure, Report, render
from bench.wrk_run import StormResult, run_storm
from services.aps.devices.credentials import Sealer
from tests.support.databases import make_database_url
from tests.support.suite import MODULES, Suite, free_port

REPO = Path(__file__).resolve().parents[1]
CREDENTIAL_KEY = "bench-aps-credential-key-0123456789abcdef"
CONTENTION_UNITS = 100


def _timed_post(admin: httpx.Client, path: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    response = admin.post(path)
    seconds = time.perf_counter() - started
    if response.is_error:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:2000]}")
    body: dict[str, object] = response.json()
    return seconds, body


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def telephony_commit(report: Report, admin: httpx.Client, ext_url: str, size: int) -> float:
    engine = seed.engine_for(ext_url)
    added = seed.seed_extensions(engine, size)
    engine.dispose()
    seconds, body = _timed_post(admin, "/api/v1/telephony/commits")
    _log(
        f"telephony commit of {size} extensions (+{added}): {seconds:.2f} s, rev {body.get('rev')}"
    )
    target = {10_000: 1.0, 100_000: 10.0}.get(size)
    report.add(
        "Telephony commit (render, store, deploy; 3 slots per extension)",
        Figure(
            f"{size:,} extensions",
            f"{seconds:.2f} s ({seconds / size * 1e6:.0f} µs per extension)",
            f"≤ {target:g} s" if target else "",
            seconds <= target if target else None,
        ),
    )
    return seconds


def aps_commits(report: Report, admin: httpx.Client, phones: list[seed.Phone]) -> None:
    section = f"APS commit ({len(phones):,} devices, mixed vendors, 1-3 lines)"
    seconds, body = _timed_post(admin, "/api/v1/aps/commits")
    _log(f"APS commit of {len(phones)} devices: {seconds:.2f} s ({body.get('devices_rendered')})")
    report.add(
        section,
        Figure(
            f"all {len(phones):,} devices ({body.get('devices_rendered')} rendered)",
            f"{seconds:.2f} s",
            "≤ 3 s",
            seconds <= 3.0,
        ),
    )
    timings = []
    for round_ in range(5):
        phone = phones[(round_ * 7919) % len(phones)]
        admin.patch(
            f"/api/v1/aps/devices/{phone.mac}", json={"label": f"changed {round_}"}
        ).raise_for_status()
        seconds, body = _timed_post(admin, "/api/v1/aps/commits")
        if body.get("devices_rendered") != 1:
            raise RuntimeError(f"one changed device rendered {body.get('devices_rendered')}")
        timings.append(seconds)
    _log(f"APS commit of one changed device: {[round(t * 1000) for t in timings]} ms")
    report.add(
        section,
        Figure(
            f"one changed device among {len(phones):,} (median of 5; max)",
            f"{median(timings) * 1000:.0f} ms; {max(timings) * 1000:.0f} ms",
            "≤ 100 ms",
            median(timings) <= 0.1,
        ),
    )


def _storm_figures(
    report: Report, section: str, label: str, result: StormResult, *, targets: bool
) -> None:
    within = result.seconds <= 10.0
    report.add(
        section,
        Figure(
            f"{label}: time for {result.requests:,} fetches",
            f"{result.seconds:.2f} s ({result.per_second:,.0f}/s)",
            "≤ 10 s" if targets else "",
            within if targets else None,
        ),
    )
    report.add(
        section,
        Figure(
            f"{label}: p50 / p99 latency",
            f"{result.p50_ms:.1f} / {result.p99_ms:.1f} ms",
            "p99 ≤ 100 ms" if targets else "",
            result.p99_ms <= 100 if targets else None,
        ),
    )
    report.add(
        section,
        Figure(
            f"{label}: answers 200 / 304 / errors",
            f"{result.ok_200:,} / {result.ok_304:,} / {result.errors:,}",
            "0 errors" if targets else "",
            result.errors == 0 if targets else None,
        ),
    )


def boot_storm(
    report: Report, suite: Suite, root: Path, phones: list[seed.Phone], connections: int
) -> None:
    section = (
        f"Boot storm ({len(phones):,} phones x 2 files through the gateway, "
        f"authentication on, {connections} connections)"
    )
    aps_engine = seed.engine_for(suite.database_urls["aps"])
    files = snapshot_files(aps_engine)
    aps_engine.dispose()
    fetches = plan_fetches(phones, files)
    first = write_request_file(root / "storm-first.tsv", fetches, conditional=False)
    again = write_request_file(root / "storm-again.tsv", fetches, conditional=True)
    results = {}
    since_start = {name: peak_rss_mib(proc.pid) for name, proc in suite.procs.items()}
    for proc in suite.procs.values():
        reset_peak_rss(proc.pid)
    for label, path in (("first fetch", first), ("If-None-Match", again)):
        results[label] = run_storm(suite.gateway, path, connections=connections)
        _log(f"storm {label}: {results[label]}")
        _storm_figures(report, section, label, results[label], targets=True)
    for name, proc in suite.procs.items():
        rss = peak_rss_mib(proc.pid)
        report.add(
            f"Memory (peak RSS, VmHWM, {len(phones):,} devices)",
            Figure(
                f"{name}: during the boot storm (before it: since start, with commits)",
                f"{rss:.0f} MiB ({since_start[name]:.0f} MiB)",
                "≤ 120 MB",
                rss * 1.048576 <= 120,
            ),
        )
    with profiled(_pids(suite, "gateway", "aps"), root / "profiles" / "storm") as profiles:
        run_storm(suite.gateway, first, connections=connections)
    report.add_profiles("Boot storm, first fetch through the gateway", profiles)
    # Without the gateway: what APS alone serves on the same cores (not a target).
    direct = run_storm(
        suite.url("aps"),
        first,
        connections=connections,
        service_token=suite.service_token("aps", issuer="gateway"),
    )
    _log(f"storm straight to APS: {direct}")
    _storm_figures(
        report, section, "straight to APS, no gateway (first fetch)", direct, targets=False
    )
    static_root = root / "static"
    etags = write_static_tree(static_root, files)
    static = static_fetches(fetches, etags)
    nginx_section = "Physical limit: the same bytes as static files from nginx"
    with StaticServer(static_root, free_port(), root / "nginx") as server:
        base = f"http://127.0.0.1:{server.port}"
        for label, conditional in (("first fetch", False), ("If-None-Match", True)):
            path = write_request_file(
                root / f"static-{conditional}.tsv", static, conditional=conditional
            )
            result = run_storm(base, path, connections=connections)
            _log(f"nginx {label}: {result}")
            _storm_figures(report, nginx_section, f"nginx {label}", result, targets=False)
            if label == "first fetch":
                alone = direct.per_second / result.per_second
                report.add(
                    nginx_section,
                    Figure(
                        "APS alone (no gateway) ÷ nginx throughput, first fetch", f"{alone:.3f}"
                    ),
                )
            ratio = results[label].per_second / result.per_second
            report.add(
                nginx_section,
                Figure(
                    f"ShareLine ÷ nginx throughput, {label}", f"{ratio:.3f}", "≥ 0.2", ratio >= 0.2
                ),
            )


def _pids(suite: Suite, *names: str) -> dict[str, int]:
    return {name: suite.procs[name].pid for name in names}


def _give_back(suite: Suite, admin: httpx.Client, token: str, pool: str) -> None:
    """Release what the measured run took, so the profiled run meets the same free units."""
    while True:
        page = admin.get(
            "/api/v1/license/allocations", params={"pool": pool, "limit": 500}
        ).raise_for_status()
        holders = [item["holder"] for item in page.json()["items"]]
        if not holders:
            return
        httpx.post(
            suite.url("licensing") + "/internal/v1/releases",
            json={"pool": pool, "holders": holders},
            headers={"X-Service-Token": token},
            timeout=60,
        ).raise_for_status()


def allocation_contention(report: Report, suite: Suite, admin: httpx.Client, count: int) -> None:
    pools = admin.get("/api/v1/license").raise_for_status().json()["pools"]
    free = int(pools["softphones"]["free"])
    token = suite.service_token("licensing", issuer="aps")
    result = contend(
        suite.url("licensing"), token, pool="softphones", count=count, free_before=free
    )
    used_after = admin.get("/api/v1/license").raise_for_status().json()["pools"]["softphones"]
    _log(f"contention: {result}; pool after: {used_after}")
    _give_back(suite, admin, token, "softphones")
    with profiled(_pids(suite, "licensing"), suite.root / "profiles" / "alloc") as profiles:
        contend(suite.url("licensing"), token, pool="softphones", count=count, free_before=free)
    report.add_profiles("Allocation contention", profiles)
    section = f"Allocation contention ({count:,} concurrent reservations, {free} free units)"
    report.add(
        section,
        Figure(
            "time for all answers",
            f"{result.seconds:.2f} s ({result.per_second:,.0f}/s)",
            "≥ 1,000/s",
            result.per_second >= 1000,
        ),
    )
    report.add(
        section,
        Figure(
            "granted / refused (409 pool-exhausted) / other",
            f"{result.granted} / {result.refused} / {result.errors}",
            f"exactly {free} granted",
            result.granted == free and result.errors == 0,
        ),
    )
    report.add(
        section,
        Figure(
            "pool usage afterwards",
            f"{used_after['used']} of {used_after['capacity']}",
            f"{used_after['capacity']} of {used_after['capacity']}",
            used_after["used"] == used_after["capacity"],
        ),
    )


def run(args: argparse.Namespace) -> Report:
    report = Report(command=args.command, machine=describe())
    with tempfile.TemporaryDirectory(prefix="shareline-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers may run as another user
        private, trusted = vendor_keypair(root / "vendor")
        suite = Suite(
            root,
            extra_env={
                "SHARELINE_LICENSE_PUBLIC_KEYS": trusted,
                "SHARELINE_TRUSTED_PROXIES": '["127.0.0.1"]',
                "SHARELINE_APS_CREDENTIAL_KEY": CREDENTIAL_KEY,
            },
            database_urls={name: make_database_url(root, name) for name in MODULES},
        )
        _log(f"starting the services under {root}")
        suite.start_all()
        try:
            with suite.admin_client(timeout=600.0) as admin:
                install_license(
                    admin,
                    private,
                    users=200_000,
                    shared_devices=400_000,
                    softphones=CONTENTION_UNITS,
                )
                storm_done = False
                for size in args.sizes:
                    telephony_commit(report, admin, suite.database_urls["extensions"], size)
                    if not storm_done and size >= args.devices:
                        phones = seed.plan_phones(args.devices, hardware_vendors())
                        aps_engine = seed.engine_for(suite.database_urls["aps"])
                        seed.seed_devices(aps_engine, phones, Sealer.from_secret(CREDENTIAL_KEY))
                        aps_engine.dispose()
                        aps_commits(report, admin, phones)
                        boot_storm(report, suite, root, phones, args.connections)
                        allocation_contention(report, suite, admin, args.reservations)
                        storm_done = True
        finally:
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            report.machine["load average at the end (other work shares the machine)"] = load
            suite.stop_all()
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="extension counts for the telephony commits, ascending",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--reservations", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.sizes[-1] < args.devices:
        parser.error("the largest --sizes must be at least --devices")
    args.command = " ".join(
        ["python -m bench", shlex.join(argv if argv is not None else sys.argv[1:])]
    ).strip()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    report = run(args)
    args.out.write_text(render(report, time.perf_counter() - started))
    _log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
