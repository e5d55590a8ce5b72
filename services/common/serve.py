"""Run one ShareLine app under uvicorn: `python -m services.<name>`."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from services.common.memory import (
    enable_releases,
    fix_mmap_threshold,
    limit_malloc_arenas,
    release_freed_memory,
)


def serve(name: str, create_app: Callable[[Any], Any], settings: Any, default_port: int) -> None:
    # Before uvicorn and the worker threads start: every thread would get its own arena.
    limit_malloc_arenas()
    fix_mmap_threshold()
    enable_releases()
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    app = create_app(settings)
    app.state.settle_heap = True  # services.common.heap: freeze what start-up built
    release_memory_after_startup(app)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def release_memory_after_startup(app: Any) -> None:
    """Start-up (migrations, loading state, the first admin's password hash) leaves
    freed memory behind; give it back once the app's lifespan has started."""
    starting = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with starting(app) as state:
            release_freed_memory()
            yield state

    app.router.lifespan_context = lifespan
