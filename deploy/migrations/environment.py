"""The body of every service's `env.py`: migrate one service's tables and nothing else.

Run from `services.common.migrations` (which passes an open connection in
`config.attributes["connection"]`) or from the alembic command line
(`alembic -c deploy/migrations/alembic.ini -n extensions ...`), where the database URL
comes from the service's own settings, exactly as the service reads it.
"""

from __future__ import annotations

import importlib
import os

from alembic import context
from sqlalchemy import Connection

from services.common.db import create_db_engine
from services.common.migrations import TARGETS, configure_context, target_metadata

SETTINGS_MODULES = {
    "extensions": "services.extensions.settings",
    "licensing": "services.licensing.settings",
    "aps": "services.aps.settings",
    "gateway": "gateway.settings",
}


def database_url(service: str) -> str:
    """The URL the service itself would use (`SHARELINE_<SERVICE>_DATABASE_URL`).

    Read straight from the environment when set, so the migration job needs the database
    URLs only, not every secret a service's settings demand in production.
    """
    explicit = os.environ.get(f"SHARELINE_{service.upper()}_DATABASE_URL")
    if explicit:
        return explicit
    settings = importlib.import_module(SETTINGS_MODULES[service]).Settings()
    return str(settings.database_url)


def run() -> None:
    service = context.config.get_main_option("shareline_service")
    if not service or service not in TARGETS:
        raise RuntimeError(f"unknown shareline_service {service!r} in the alembic config")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection, service)
        return
    engine = create_db_engine(database_url(service))
    try:
        with engine.begin() as own_connection:
            _migrate(own_connection, service)
    finally:
        engine.dispose()


def _migrate(connection: Connection, service: str) -> None:
    target = TARGETS[service]
    without_models = context.config.attributes.get("without_models", False)
    context.configure(
        target_metadata=None if without_models else target_metadata(target),
        **configure_context(connection, target),
    )
    with context.begin_transaction():
        context.run_migrations()
