"""Alembic environments, one per service (see services/common/migrations.py)."""
