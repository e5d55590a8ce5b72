"""Allocation contention: many concurrent reservations against a few free units."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx

from services.common.service_tokens import HEADER


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


async def _reserve_all(base_url: str, token: str, pool: str, count: int) -> Counter[int]:
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0) as client:

        async def one(index: int) -> int:
            response = await client.post(
                "/internal/v1/reservations",
                json={"pool": pool, "holders": [f"softphone:bench-{run}-{index}"]},
                headers={HEADER: token, "Idempotency-Key": f"bench-{run}-{index}"},
            )
            return response.status_code

        return Counter(await asyncio.gather(*(one(i) for i in range(count))))


def contend(
    licensing_url: str, token: str, *, pool: str, count: int, free_before: int
) -> ContentionResult:
    """`count` reservations of one unit each, all sent at once, straight to licensing."""
    started = time.perf_counter()
    statuses = asyncio.run(_reserve_all(licensing_url, token, pool, count))
    seconds = time.perf_counter() - started
    granted, refused = statuses.pop(201, 0), statuses.pop(409, 0)
    return ContentionResult(
        requests=count,
        free_before=free_before,
        granted=granted,
        refused=refused,
        errors=sum(statuses.values()),
        seconds=seconds,
    )
