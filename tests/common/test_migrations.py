"""Alembic migrations per service: they match the models, and the machinery behaves.

When a model changes, `test_migrations_of_each_service_match_its_models` fails until a
new revision is written: `make migration SERVICE=<service> MESSAGE="what changed"`.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect

from deploy import migrate
from services.common.db import create_db_engine
from services.common.migrations import (
    TARGETS,
    DatabaseBehind,
    MigrationTarget,
    differences,
    is_at_head,
    migrations_root,
    require_head,
    upgrade_to_head,
)
from services.common.service_app import open_database
from services.common.settings import CommonSettings
from tests.support.databases import make_database_url


@pytest.mark.parametrize("service", sorted(TARGETS))
def test_migrations_of_each_service_match_its_models(tmp_path: Path, service: str) -> None:
    engine = create_db_engine(make_database_url(tmp_path, service))
    try:
        upgrade_to_head(engine, service)
        assert is_at_head(engine, service)
        assert differences(engine, service) == [], (
            f"the {service} models changed without a migration: run "
            f'`make migration SERVICE={service} MESSAGE="..."` and commit the new revision'
        )
        prefix = TARGETS[service].prefix
        foreign = [t for t in inspect(engine).get_table_names() if not t.startswith(prefix + "_")]
        assert foreign == []
    finally:
        engine.dispose()


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[MigrationTarget, Table]:
    """A throwaway service `sample` (tables `smp_*`) with an empty migration folder."""
    location = tmp_path / "sample"
    (location / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(migrations_root() / "extensions" / name, location / name)
    metadata = MetaData()
    widgets = Table(
        "smp_widgets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(40), nullable=False),
    )
    Table("oth_gadgets", metadata, Column("id", Integer, primary_key=True))
    target = MigrationTarget("sample", "smp", "tests", location=location, metadata=metadata)
    monkeypatch.setitem(TARGETS, "sample", target)
    return target, widgets


def _revisions(target: MigrationTarget) -> list[str]:
    assert target.location is not None
    return sorted(p.read_text() for p in (target.location / "versions").glob("*.py"))


def test_a_new_revision_covers_only_the_services_tables_and_upgrades(tmp_path, sample) -> None:
    target, _widgets = sample
    engine = create_db_engine(make_database_url(tmp_path, "sample"))
    try:
        assert is_at_head(engine, "sample")  # no migrations yet, nothing applied
        assert differences(engine, "sample") != []

        migrate.revision("sample", "create widgets")
        (script,) = _revisions(target)
        assert "smp_widgets" in script
        assert "oth_gadgets" not in script
        assert not is_at_head(engine, "sample")

        upgrade_to_head(engine, "sample")
        assert is_at_head(engine, "sample")
        assert differences(engine, "sample") == []
        assert set(inspect(engine).get_table_names()) == {"smp_widgets", "smp_alembic_version"}

        migrate.revision("sample", "nothing changed")
        assert len(_revisions(target)) == 1
    finally:
        engine.dispose()


def test_a_changed_model_needs_and_gets_a_second_revision(tmp_path, sample) -> None:
    target, widgets = sample
    engine = create_db_engine(make_database_url(tmp_path, "sample"))
    try:
        migrate.revision("sample", "create widgets")
        upgrade_to_head(engine, "sample")
        widgets.append_column(Column("color", String(20), nullable=True))
        assert [d[0] for d in differences(engine, "sample")] == ["add_column"]

        migrate.revision("sample", "widgets have a color")
        assert len(_revisions(target)) == 2
        upgrade_to_head(engine, "sample")
        assert is_at_head(engine, "sample")
        assert differences(engine, "sample") == []
        columns = {c["name"] for c in inspect(engine).get_columns("smp_widgets")}
        assert columns == {"id", "name", "color"}
    finally:
        engine.dispose()


def test_replicas_starting_together_migrate_once(tmp_path, sample) -> None:
    migrate.revision("sample", "create widgets")
    url = make_database_url(tmp_path, "sample")
    engines = [create_db_engine(url) for _ in range(3)]
    # The database exists before the replicas start (SQLite switches a new file to WAL
    # on first connect, which is not what this test is about).
    with engines[0].connect():
        pass
    errors: list[BaseException] = []

    def start(engine) -> None:
        try:
            upgrade_to_head(engine, "sample")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert all(is_at_head(e, "sample") for e in engines)
    finally:
        for engine in engines:
            engine.dispose()


def _app(mode: str) -> FastAPI:
    app = FastAPI()
    app.state.settings = CommonSettings(mode=mode, service_token_secret=SecretStr("s" * 40))
    return app


def test_production_refuses_a_database_that_is_behind_and_changes_nothing(
    tmp_path, sample, caplog
) -> None:
    migrate.revision("sample", "create widgets")
    url = make_database_url(tmp_path, "sample")

    with caplog.at_level(logging.ERROR), pytest.raises(DatabaseBehind):
        open_database(_app("production"), url, "smp")
    assert "refusing to start" in caplog.text
    assert "make migrate" in caplog.text
    probe = create_db_engine(url)
    try:
        assert inspect(probe).get_table_names() == []
        with pytest.raises(DatabaseBehind):
            require_head(probe, "sample")
    finally:
        probe.dispose()


def test_local_mode_upgrades_then_production_starts(tmp_path, sample) -> None:
    migrate.revision("sample", "create widgets")
    url = make_database_url(tmp_path, "sample")

    local = open_database(_app("local"), url, "smp")
    local.dispose()
    production = open_database(_app("production"), url, "smp")
    try:
        assert is_at_head(production, "sample")
        assert "smp_widgets" in inspect(production).get_table_names()
    finally:
        production.dispose()


def test_local_mode_adopts_a_database_made_before_migrations_existed(
    tmp_path, sample, caplog
) -> None:
    target, _widgets = sample
    url = make_database_url(tmp_path, "sample")
    # Started once before the first revision existed: an empty history, and the tables
    # local mode created from the models (which here live outside SQLModel.metadata).
    early = open_database(_app("local"), url, "smp")
    assert target.metadata is not None
    target.metadata.create_all(early, tables=[target.metadata.tables["smp_widgets"]])
    early.dispose()
    migrate.revision("sample", "create widgets")

    with pytest.raises(DatabaseBehind):
        open_database(_app("production"), url, "smp")
    with caplog.at_level(logging.WARNING):
        engine = open_database(_app("local"), url, "smp")
    try:
        assert "no migration history" in caplog.text
        assert is_at_head(engine, "sample")
        assert differences(engine, "sample") == []
    finally:
        engine.dispose()
