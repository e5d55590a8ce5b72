"""Alembic environment of the gateway service (shared body: deploy/migrations/environment.py)."""

from deploy.migrations.environment import run

run()
