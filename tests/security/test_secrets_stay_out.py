"""Promise 3: a SIP password never reaches a log or an error body, even when the database
refuses a statement that carries it (the engine hides SQL parameters)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.common.db import create_db_engine
from tests.support.databases import make_database_url

SECRET = "Leakcheck0123456789abcdefXYZ"


def test_a_refused_statement_does_not_carry_its_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    engine = create_db_engine(make_database_url(tmp_path, "leak"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE leak_probe (id INTEGER PRIMARY KEY, secret TEXT)"))
            conn.execute(text("INSERT INTO leak_probe VALUES (1, 'x')"))
        with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
            conn.execute(text("INSERT INTO leak_probe VALUES (1, :s)"), {"s": SECRET})
    finally:
        engine.dispose()
    assert "parameters hidden" in str(refused.value)
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)
    assert SECRET not in caplog.text
