"""Run one ShareLine app under uvicorn: `python -m services.<name>`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import uvicorn


def serve(name: str, create_app: Callable[[Any], Any], settings: Any, default_port: int) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
