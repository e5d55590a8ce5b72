"""Keep the garbage collector's full passes short in a long-running service.

A full collection walks every container object the process holds: after start-up that
is the imported libraries and, in APS, the phone index of the committed snapshot. In a
boot storm each full pass stopped the event loop for 100-500 ms while dozens of phones
waited, which was the whole p99 tail. Objects that live as long as the process (or
until the next commit replaces them) are moved out of the collector's sight with
`gc.freeze()`; they are still freed by reference counting when nothing refers to them.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from inspect import isasyncgenfunction
from typing import Any

from fastapi import FastAPI

Lifespan = Callable[[FastAPI], Any]


_settled = False


def settle() -> None:
    """Collect what start-up left behind, then stop scanning everything still alive."""
    global _settled
    gc.collect()
    gc.freeze()
    _settled = True


def freeze_survivors() -> None:
    """After a commit built its long-lived structures: stop scanning them.

    No collection first: a full pass here would cost the commit what we save the storm,
    and whatever of the old snapshot has no cycles was already freed by its refcount.
    Only in a process that settled its heap at start-up (a served one, see below).
    """
    if _settled:
        gc.freeze()


def settled_after_startup(
    lifespan: Lifespan,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Wrap an app's lifespan so a served process settles its heap once it has started.

    Only a process started by `services.common.serve` asks for it (`app.state.settle_heap`):
    in-process test apps come and go, and freezing theirs would keep their garbage.
    """
    context = asynccontextmanager(lifespan) if isasyncgenfunction(lifespan) else lifespan

    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[None]:
        async with context(app):
            if getattr(app.state, "settle_heap", False):
                settle()
            yield

    return wrapped
