"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel


def insert_if_absent(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction,
    so the loser sees the winner's committed row instead of failing at commit.
    """
    table = model.__table__  # type: ignore[attr-defined]
    statement = _insert_if_absent(table, session.get_bind().dialect.name)
    # The values go as parameters of one prepared statement, built once per table: on
    # the reservation path building and caching a new statement each time was a cost.
    return session.connection().execute(statement, values).first() is not None


@cache
def _insert_if_absent(table: Table, dialect: str) -> Insert:
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: drivers may report -1 for INSERT … ON CONFLICT.
    return builder(table).on_conflict_do_nothing().returning(key)
