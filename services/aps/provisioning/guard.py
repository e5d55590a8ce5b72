"""Per-address protection of the phone-facing path.

Every address gets a token bucket (a steady request rate with a burst allowance for a
boot storm behind one NAT). Misses — a failed authentication, or a name that fits no
vendor's pattern — are counted in a sliding window; too many and the address is banned
for a while, which is logged. State is per replica and in memory: a scanner spread
over replicas is slowed by each of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("shareline.aps.guard")

_MAX_TRACKED = 100_000


@dataclass(slots=True)  # one per phone address: 10,000 in a boot storm
class _Address:
    tokens: float
    updated: float
    # Made at the first miss: most addresses never miss, and an empty deque is ~600 bytes.
    misses: deque[float] | None = None
    banned_until: float = 0.0


class AddressGuard:
    def __init__(
        self,
        *,
        miss_limit: int,
        miss_window: float,
        ban_seconds: float,
        rate_per_second: float,
        burst: int,
    ) -> None:
        self.miss_limit, self.miss_window, self.ban_seconds = miss_limit, miss_window, ban_seconds
        self.rate, self.burst = rate_per_second, float(burst)
        self._addresses: dict[str, _Address] = {}
        self._lock = threading.Lock()

    def _entry(self, address: str, now: float) -> _Address:
        entry = self._addresses.get(address)
        if entry is None:
            if len(self._addresses) >= _MAX_TRACKED:
                self._forget_idle(now)
            entry = self._addresses[address] = _Address(tokens=self.burst, updated=now)
        return entry

    def _forget_idle(self, now: float) -> None:
        idle = [
            a
            for a, e in self._addresses.items()
            if e.banned_until < now and not e.misses and e.updated < now - 60
        ]
        for address in idle or list(self._addresses)[: _MAX_TRACKED // 10]:
            del self._addresses[address]

    def admit(self, address: str) -> float | None:
        """None when the request may proceed, else the seconds to wait (429)."""
        now = time.monotonic()
        with self._lock:
            entry = self._entry(address, now)
            if entry.banned_until > now:
                return entry.banned_until - now
            entry.tokens = min(self.burst, entry.tokens + (now - entry.updated) * self.rate)
            entry.updated = now
            if entry.tokens < 1:
                return (1 - entry.tokens) / self.rate
            entry.tokens -= 1
            return None

    def miss(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            entry = self._entry(address, now)
            if entry.misses is None:
                entry.misses = deque()
            entry.misses.append(now)
            while entry.misses and entry.misses[0] < now - self.miss_window:
                entry.misses.popleft()
            if len(entry.misses) >= self.miss_limit and entry.banned_until <= now:
                entry.banned_until = now + self.ban_seconds
                entry.misses.clear()
                log.warning(
                    "provisioning: banned %s for %.0f s after %d misses in %.0f s",
                    address,
                    self.ban_seconds,
                    self.miss_limit,
                    self.miss_window,
                    extra={"address": address, "event": "provisioning-ban"},
                )
