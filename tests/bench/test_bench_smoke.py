"""The bench modules import, read wrk's output, plan phones, and write a report.

No timing here: `make bench` measures; tests only check the bench reads and writes right.
"""

from __future__ import annotations

from pathlib import Path

from bench.phones import hardware_vendors, nginx_etag, plan_fetches
from bench.report import Figure, Report, render
from bench.seed import plan_phones
from bench.wrk_run import parse_wrk

WRK_OUTPUT = """Running 5m test @ http://127.0.0.1:8000
  1 threads and 64 connections
  Latency Distribution
     50%    3.21ms
     75%    5.00ms
     90%    8.00ms
     99%    1.20s
  20064 requests in 8.52s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 0
Requests/sec:   2354.99
STATUS 200=19990 304=0 other=8
"""


def test_parse_wrk_counts_unanswered_and_non_success_as_errors() -> None:
    result = parse_wrk(WRK_OUTPUT, listed=20_000)
    assert (result.p50_ms, result.p99_ms, result.seconds) == (3.21, 1200.0, 8.52)
    assert result.ok_200 == 19_990
    assert result.errors == 8 + 2  # 8 refused, 2 never answered
    assert round(result.per_second) == 2347


def test_report_shows_each_figure_against_its_target_and_lists_what_is_unmet() -> None:
    report = Report(command="python -m bench", machine={"nproc": "2"})
    report.add("Boot storm", Figure("p99", "140.0 ms", "≤ 100 ms", False))
    report.add("Boot storm", Figure("errors", "0", "0 errors", True))
    text = render(report, 61.0, notes="## Why\n\nbecause")
    assert "| p99 | 140.0 ms | ≤ 100 ms | **not met** |" in text
    assert "| errors | 0 | 0 errors | met |" in text
    assert "- nproc: 2" in text and "`python -m bench`" in text
    assert "1 figures miss their target:\n\n- Boot storm: p99\n" in text
    assert text.rstrip().endswith("because")


def test_every_planned_phone_fetches_its_own_file_and_its_common_file(tmp_path: Path) -> None:
    phones = plan_phones(12, hardware_vendors())
    assert {p.vendor for p in phones} >= {"yealink", "poly", "cisco"}
    assert {p.lines for p in phones} == {1, 2, 3}
    # Every name either vendor scheme could ask for, so planning finds them all.
    names = {}
    for phone in phones:
        for suffix in (".cfg", "-user.cfg", ".xml"):
            names[phone.mac + suffix] = (b"x", '"e"')
        names["cfg" + phone.mac + ".xml"] = (b"x", '"e"')
    for common in (
        "common.cfg",
        "cfg.xml",
        "snom-general.xml",
        "y000000000068.cfg",
        "6851.xml",
        "f0x2hw1.100.cfg",
        "y000000000067.cfg",
        "7841.xml",
        "f0x3shw1.100.cfg",
    ):
        names[common] = (b"c", '"c"')
    fetches = plan_fetches(phones, names)
    assert len(fetches) == 2 * len(phones)
    assert all(f.authorization.startswith("Basic ") for f in fetches)
    assert len({f.forwarded_for for f in fetches}) == len(phones)
    sample = tmp_path / "f"
    sample.write_bytes(b"abc")
    assert nginx_etag(sample).endswith('-3"')
