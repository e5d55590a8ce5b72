"""Alembic environment of the licensing service (shared body: deploy/migrations/environment.py)."""

from deploy.migrations.environment import run

run()
