"""Alembic environment of the aps service (shared body: deploy/migrations/environment.py)."""

from deploy.migrations.environment import run

run()
