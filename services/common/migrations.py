"""Alembic migrations, one environment per service under `deploy/migrations/<service>/`.

Each service's environment sees only that service's tables (`<prefix>_*`) and keeps its
revision in its own version table (`<prefix>_alembic_version`), so services never touch
each other's schema even when an operator points them at one shared database.

Local mode upgrades to head at start-up; production mode only checks (`is_at_head`) and
leaves upgrading to `python -m deploy.migrate` (the Compose one-shot, the Kubernetes Job).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlmodel import SQLModel

_IN_PROCESS = threading.Lock()
log = logging.getLogger("shareline.migrations")


@dataclass(frozen=True)
class MigrationTarget:
    """Where one service's tables are defined and where its migrations live."""

    service: str
    prefix: str
    package: str
    location: Path | None = None
    # The tables' home; None means the models' shared `SQLModel.metadata`.
    metadata: MetaData | None = field(default=None, compare=False)

    @property
    def version_table(self) -> str:
        return f"{self.prefix}_alembic_version"

    def script_location(self) -> Path:
        return self.location or migrations_root() / self.service

    def owns(self, table_name: str) -> bool:
        return table_name.startswith(self.prefix + "_")


TARGETS: dict[str, MigrationTarget] = {
    "extensions": MigrationTarget("extensions", "ext", "services.extensions"),
    "licensing": MigrationTarget("licensing", "lic", "services.licensing"),
    "aps": MigrationTarget("aps", "aps", "services.aps"),
    "gateway": MigrationTarget("gateway", "gw", "gateway"),
}


class DatabaseBehind(RuntimeError):
    """The database is not at the newest migration this code expects."""


def service_for_prefix(prefix: str) -> str | None:
    return next((t.service for t in TARGETS.values() if t.prefix == prefix), None)


def migrations_root() -> Path:
    # Found by import machinery, not by a relative path, so it also works when the
    # package is installed into site-packages (the container image).
    spec = importlib.util.find_spec("deploy.migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the deploy.migrations package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(service: str) -> Config:
    """An Alembic config for one service, as `alembic -n <service>` would build it."""
    target = TARGETS[service]
    config = Config()
    config.set_main_option("script_location", str(target.script_location()))
    config.set_main_option("shareline_service", service)
    return config


def target_metadata(target: MigrationTarget) -> MetaData:
    """The service's tables only: a copy of the shared SQLModel metadata, filtered."""
    source = target.metadata
    if source is None:
        import_models(target)
        source = SQLModel.metadata
    metadata = MetaData(naming_convention=source.naming_convention)
    for table in source.sorted_tables:
        if target.owns(table.name):
            table.to_metadata(metadata)
    return metadata


def import_models(target: MigrationTarget) -> None:
    """Import every module of the service that declares a table, so metadata is complete."""
    spec = importlib.util.find_spec(target.package)
    if spec is None or not spec.submodule_search_locations:
        return
    root = Path(next(iter(spec.submodule_search_locations)))
    for path in sorted(root.rglob("*.py")):
        if "table=True" not in path.read_text(encoding="utf-8", errors="replace"):
            continue
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        importlib.import_module(".".join((target.package, *parts)))


def upgrade_to_head(engine: Engine, service: str) -> None:
    """Apply every pending migration of `service` to the database behind `engine`."""
    upgrade_then(engine, service, lambda: None)


def upgrade_then(
    engine: Engine, service: str, then: Callable[[], None], *, adopt_unversioned: bool = False
) -> None:
    """Upgrade to head, then run `then` (local mode: create unmigrated tables), all under
    one lock, so replicas starting together neither migrate nor create a table twice.

    `adopt_unversioned` (local mode only) marks a database whose tables were created
    before the service had migrations as being at head instead of failing on them.
    """
    # alembic's `context` is a module-level proxy: one migration per process at a time.
    with _IN_PROCESS, _migration_lock(engine, service):
        with engine.begin() as connection:
            config = alembic_config(service)
            config.attributes["connection"] = connection
            # Applying revisions needs no models; only autogenerate compares with them.
            config.attributes["without_models"] = True
            if adopt_unversioned and _predates_migrations(connection, TARGETS[service]):
                log.warning(
                    "the %s database has tables but no migration history (made before "
                    "migrations existed); marking it at head. Delete it for a clean one.",
                    service,
                )
                command.stamp(config, "head")
            else:
                command.upgrade(config, "head")
        then()


def _predates_migrations(connection: Connection, target: MigrationTarget) -> bool:
    # An empty version table is what a start before the first revision leaves behind.
    tables = set(inspect(connection).get_table_names()) - {target.version_table}
    if not any(target.owns(t) for t in tables):
        return False
    return _context(connection, target).get_current_revision() is None


def is_at_head(engine: Engine, service: str) -> bool:
    """Whether the database carries the newest revision of `service`'s migrations."""
    return current_revision(engine, service) == head_revision(service)


def head_revision(service: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(service)).get_current_head()


def current_revision(engine: Engine, service: str) -> str | None:
    with engine.connect() as connection:
        return _context(connection, TARGETS[service]).get_current_revision()


def differences(engine: Engine, service: str) -> list[Any]:
    """What autogenerate would change: empty when the migrations match the models."""
    target = TARGETS[service]
    with engine.connect() as connection:
        context = _context(connection, target, metadata=target_metadata(target))
        return list(compare_metadata(context, context.opts["target_metadata"]))


def require_head(engine: Engine, service: str) -> None:
    """Refuse to serve from a database that has not been migrated (production mode)."""
    current, head = current_revision(engine, service), head_revision(service)
    if current != head:
        raise DatabaseBehind(
            f"the {service} database is at revision {current or 'none'}, this release "
            f"needs {head}; run `python -m deploy.migrate` (make migrate) first"
        )


def configure_context(connection: Connection, target: MigrationTarget) -> dict[str, Any]:
    """The `context.configure()` options every environment and check shares."""

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or (name is not None and target.owns(name))

    return {
        "connection": connection,
        "version_table": target.version_table,
        "include_name": include_name,
        "compare_type": True,
        "compare_server_default": True,
        # SQLite can alter a table only by copying it; batch mode does that for us.
        "render_as_batch": True,
    }


def _context(
    connection: Connection, target: MigrationTarget, metadata: MetaData | None = None
) -> MigrationContext:
    options = configure_context(connection, target)
    options.pop("connection")
    options["target_metadata"] = metadata
    return MigrationContext.configure(connection, opts=options)


@contextmanager
def _migration_lock(engine: Engine, service: str) -> Iterator[None]:
    """Serialize migrations across replicas starting at once (PostgreSQL advisory lock).

    SQLite needs nothing more: its write transactions already exclude one another.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    key = zlib.crc32(f"shareline-migrate-{service}".encode())
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
