"""Database URLs for tests: SQLite by default, a fresh PostgreSQL database on request.

Set `SHARELINE_TEST_POSTGRES_URL` (e.g. postgresql://postgres@127.0.0.1:5432/postgres)
and every test database becomes its own new PostgreSQL database on that server.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

ADMIN_URL_ENV = "SHARELINE_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(ADMIN_URL_ENV) or None


def make_database_url(tmp_path: Path, name: str) -> str:
    """A new, empty database for one service in one test."""
    admin = postgres_admin_url()
    if not admin:
        return f"sqlite:///{tmp_path / (name + '.db')}"
    import psycopg

    database = f"t_{name}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    base, _, _ = admin.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)
