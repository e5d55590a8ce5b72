"""What one write transaction reads once and then keeps: the license in force, locked pools.

A batch of reservations runs in one transaction. The license terms and the system row
do not change inside it, and each pool row is locked once and its counter kept in
memory (`LockedPool`), so a reservation in the batch costs no extra round trips for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from services.licensing.keys.service import current_terms
from services.licensing.keys.state import evaluate
from services.licensing.keys.terms import LicenseTerms
from services.licensing.pools.service import LockedPool, lock_pool_counts
from services.licensing.settings import Settings
from services.licensing.system import load_system, max_seen


class WriteScope:
    """Per-transaction cache of the license in force and of the pool rows it has locked."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._pools: dict[str, LockedPool] = {}
        self._license: tuple[LicenseTerms, datetime] | None = None

    def check_may_allocate(self, now: datetime) -> None:
        """Raise why new allocations are refused at `now`, as `license_state` would."""
        if self._license is None:
            system = load_system(self.session)
            self._license = (current_terms(self.session, system, self.settings), max_seen(system))
        terms, seen = self._license
        evaluate(terms, now, seen, self.settings).check_may_allocate()

    def pool(self, name: str) -> LockedPool:
        """The pool row, locked on first use and held until the transaction ends."""
        locked = self._pools.get(name)
        if locked is None:
            locked = self._pools[name] = lock_pool_counts(self.session, name)
        return locked

    def lock(self, names: Iterable[str]) -> None:
        # One order everywhere (as `lock_all_pools`), so two batches cannot deadlock.
        for name in sorted(set(names)):
            self.pool(name)

    def counters(self) -> dict[str, int]:
        return {name: pool.used for name, pool in self._pools.items()}

    def rolled_back_to(self, before: dict[str, int]) -> None:
        """A savepoint was rolled back: re-read (and re-lock) every pool it had changed.

        On PostgreSQL a row locked before a savepoint and updated inside it loses its lock
        when the savepoint rolls back, so the lock is taken again, not just the count reset.
        """
        for name, pool in list(self._pools.items()):
            if before.get(name) != pool.used:
                self._pools[name] = lock_pool_counts(self.session, name)
