"""A client generated from the gateway's /openapi.json works against the running suite.

openapi-python-client (pinned) is installed into the test interpreter's environment on
first use; it generates a package from the live document, and the test logs in and
creates an extension through the generated code alone.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.admin import SUITE_ADMIN_PASSWORD, SUITE_ADMIN_USERNAME
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "shareline_generated_client"


@pytest.fixture(scope="session")
def generator() -> Path:
    bin_dir = Path(sys.executable).parent
    executable = bin_dir / "openapi-python-client"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", GENERATOR], check=True)
    return executable


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    suite = Suite(tmp_path_factory.mktemp("generated-client"))
    suite.start_all()
    try:
        yield suite
    finally:
        suite.stop_all()


@pytest.fixture(scope="module")
def generated(
    running: Suite, generator: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_text(json.dumps(httpx.get(running.gateway + "/openapi.json").json()))
    # The generator formats its output with ruff, which lives beside it.
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # A dropped schema or operation is a broken document; an image response the
    # generator cannot type (the QR code) is only left untyped.
    assert "Unable to parse" not in output, output
    unparsed = [line for line in output.splitlines() if line.startswith("Cannot parse")]
    assert all("Unsupported content_type image/" in line for line in unparsed), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


def _login(package: ModuleType, base_url: str, username: str, password: str) -> Any:
    login = _module(package, "api.auth.login")
    body = _module(package, "models").BodyLogin(
        username=username, password=password, grant_type="password"
    )
    return login.sync(client=package.Client(base_url=base_url), body=body)


def test_generated_client_logs_in_and_creates_an_extension(
    running: Suite, generated: ModuleType
) -> None:
    models = _module(generated, "models")
    token = _login(generated, running.gateway, SUITE_ADMIN_USERNAME, SUITE_ADMIN_PASSWORD)
    assert isinstance(token, models.TokenResponse)
    assert token.token_type == "bearer" and token.expires_in == 900
    client = generated.AuthenticatedClient(base_url=running.gateway, token=token.access_token)

    create = _module(generated, "api.extensions.create_extension_api_v1_extensions_post")
    created = create.sync(
        client=client,
        body=models.ExtensionCreate.from_dict(
            {
                "number": "100",
                "name": "Alice",
                "identity": {"full_name": "Alice Smith", "email": "alice@example.com"},
                "shared": {"enabled": True, "max_devices": 2},
            }
        ),
    )
    assert isinstance(created, models.ExtensionPublic), created
    assert created.number == "100"
    assert [slot.auth_name for slot in created.slots] == ["100", "100_2"]

    get = _module(generated, "api.extensions.get_extension_api_v1_extensions_number_get")
    assert get.sync(client=client, number="100").name == "Alice"


def test_generated_client_manages_users_and_sees_gateway_problems(
    running: Suite, generated: ModuleType
) -> None:
    models = _module(generated, "models")
    refused = _login(generated, running.gateway, SUITE_ADMIN_USERNAME, "wrong-password-1")
    assert isinstance(refused, models.Problem) and refused.status == 401

    token = _login(generated, running.gateway, SUITE_ADMIN_USERNAME, SUITE_ADMIN_PASSWORD)
    admin = generated.AuthenticatedClient(base_url=running.gateway, token=token.access_token)
    create_user = _module(generated, "api.users.create_user")
    created = create_user.sync(
        client=admin,
        body=models.UserCreate(
            username="vera", password="vera-password-123", role=models.Role.VIEWER
        ),
    )
    assert isinstance(created, models.UserPublic) and created.role == models.Role.VIEWER
    listed = _module(generated, "api.users.list_users").sync(client=admin)
    assert {u.username for u in listed} >= {"admin", "vera"}

    viewer_token = _login(generated, running.gateway, "vera", "vera-password-123")
    viewer = generated.AuthenticatedClient(
        base_url=running.gateway, token=viewer_token.access_token
    )
    forbidden = _module(generated, "api.users.list_users").sync_detailed(client=viewer)
    assert forbidden.status_code == 403
    assert isinstance(forbidden.parsed, models.Problem)
    assert forbidden.parsed.type_ == "urn:shareline:problem:insufficient-role"
