"""A boot storm's 10,000 phone addresses cost the rate limiter little memory."""

from __future__ import annotations

import tracemalloc

from services.aps.provisioning.guard import AddressGuard


def _guard() -> AddressGuard:
    return AddressGuard(miss_limit=3, miss_window=60, ban_seconds=60, rate_per_second=5, burst=20)


def test_an_address_that_never_missed_costs_a_few_hundred_bytes() -> None:
    guard = _guard()
    addresses = [f"10.1.{n // 256}.{n % 256}" for n in range(10_000)]
    tracemalloc.start()
    try:
        for address in addresses:
            assert guard.admit(address) is None
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / len(addresses) < 300  # an eager deque per address made it ~1,000


def test_misses_still_ban_after_the_limit() -> None:
    guard = _guard()
    for _ in range(3):
        guard.miss("192.0.2.7")
    assert guard.admit("192.0.2.7") is not None
    assert guard.admit("192.0.2.8") is None
