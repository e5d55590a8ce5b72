"""Schemathesis against every service's OpenAPI (in process) and the gateway's (real processes).

Each operation gets schema-valid and schema-violating requests, with authentication. Checks:
no server error, status codes and content types the document declares, bodies that match
their schema, and schema-violating data refused. Positive data is not required to succeed:
a schema cannot say "a license key with a valid signature", so 4xx on valid-looking input
is the domain speaking, not a defect.

`SHARELINE_FUZZ_EXAMPLES` sets the examples per operation and generation mode.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.service_tokens import issue
from tests.support.admin import admin_token
from tests.support.suite import Suite

EXAMPLES = int(os.environ.get("SHARELINE_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _licensing_app(tmp_path: Path) -> tuple[FastAPI, str, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.licensing.app import create_app
    from services.licensing.settings import Settings
    from tests.licensing.conftest import SECRET, Vendor

    vendor = Vendor(Ed25519PrivateKey.generate())
    settings = Settings(
        data_dir=tmp_path,
        service_token_secret=SECRET,
        licensing_database_url=_db(tmp_path, "licensing"),
        license_public_keys={vendor.kid: vendor.public_pem},
        log_json=False,
    )
    return create_app(settings), SECRET, "licensing"


def _extensions_app(tmp_path: Path) -> tuple[FastAPI, str, str]:
    from services.extensions.app import create_app
    from tests.extensions.conftest import SECRET, ext_settings
    from tests.extensions.fake_licensing import FakeLicensing

    app = create_app(ext_settings(tmp_path), licensing_http=FakeLicensing().client())
    return app, SECRET, "extensions"


def _aps_app(tmp_path: Path) -> tuple[FastAPI, str, str]:
    from services.aps.app import create_app
    from services.common.settings import LOCAL_SERVICE_SECRET
    from tests.aps.conftest import aps_settings
    from tests.aps.support import FakeExtensions

    settings = aps_settings(tmp_path)
    return (
        create_app(settings, extensions=FakeExtensions().client(settings)),
        (LOCAL_SERVICE_SECRET),
        "aps",
    )


def _db(tmp_path: Path, name: str) -> str:
    from tests.support.databases import make_database_url

    return make_database_url(tmp_path, name)


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    # Thousands of requests would otherwise each write an access-log line.
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _fuzz(schema: Any, headers: dict[str, str], **call: Any) -> list[str]:
    """Run every operation; return one line per distinct failure."""
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        _fuzz_operation(result.ok(), headers, failures, call)
    return [f"{key}\n{detail}" for key, detail in failures.items()]


def _fuzz_operation(
    operation: Any, headers: dict[str, str], failures: dict[str, str], call: dict[str, Any]
) -> None:
    strategy = operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE
    ) | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, **call)
        except (Exception, BaseExceptionGroup) as exc:  # collected, reported together
            first = next((line for line in str(exc).splitlines() if "ST" in line), str(exc))
            failures.setdefault(f"{operation.label}: {first.strip()[:200]}", str(exc)[:1500])

    run()


Builder = Callable[[Path], tuple[FastAPI, str, str]]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_extensions_app, id="extensions"),
        pytest.param(_licensing_app, id="licensing"),
        pytest.param(_aps_app, id="aps"),
    ],
)
def test_service_openapi_holds_under_fuzzing(
    build: Builder, tmp_path: Path, quiet_logs: None
) -> None:
    app, secret, audience = build(tmp_path)
    token = issue(secret, issuer="gateway", audience=audience, user="fuzzer", role="admin")
    headers = {"X-Service-Token": token}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    failures = _fuzz(schema, headers)
    assert not failures, "\n\n".join(failures)


@pytest.mark.e2e
def test_gateway_openapi_holds_under_fuzzing(tmp_path: Path) -> None:
    suite = Suite(tmp_path)
    suite.start_all()
    try:
        headers = {"Authorization": f"Bearer {admin_token(suite.gateway)}"}
        schema = schemathesis.openapi.from_url(suite.gateway + "/openapi.json", headers=headers)
        failures = _fuzz(schema, headers, base_url=suite.gateway, timeout=30)
        assert not failures, "\n\n".join(failures)
        assert "Traceback" not in suite.logs()
    finally:
        suite.stop_all()
