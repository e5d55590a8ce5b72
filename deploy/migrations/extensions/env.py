"""Alembic environment of the extensions service (shared body: deploy/migrations/environment.py)."""

from deploy.migrations.environment import run

run()
