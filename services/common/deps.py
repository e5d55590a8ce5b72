"""FastAPI dependencies shared by the services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from services.common.db import READ, WRITE, unit_of_work

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request; it commits before the response is sent."""
    mode = READ if request.method in _READ_METHODS else WRITE
    with unit_of_work(request.app.state.engine, mode) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
