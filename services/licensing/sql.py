"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_if_absent(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction,
    so the loser sees the winner's committed row instead of failing at commit.
    """
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: drivers may report -1 for INSERT … ON CONFLICT.
    statement = builder(table).values(**values).on_conflict_do_nothing().returning(key)
    result = session.exec(statement)  # type: ignore[call-overload]
    return result.first() is not None
