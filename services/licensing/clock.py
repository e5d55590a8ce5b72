"""Time for licensing: one injectable clock, and UTC conversions for the database.

The app's clock lives on `app.state.clock` so tests can move time. Timestamps go to the
database as aware UTC; SQLite hands them back without an offset, so reads pass
through `from_db`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_db(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def maybe_from_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else from_db(moment)


def current_time(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


NowDep = Annotated[datetime, Depends(current_time)]
