"""deploy/compose.yaml and the image recipe, checked by parsing (no Docker here)."""

from __future__ import annotations

import http.server
import threading

from deploy import healthcheck
from tests.deploy.manifests import (
    DEPLOY,
    MODULES,
    compose,
    compose_variables,
    env_example_keys,
)
from tests.support.suite import free_port

APP_SERVICES = sorted(MODULES)


def test_every_process_runs_from_the_one_image_with_a_health_check() -> None:
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Containerfile"
        assert service["command"] == ["python", "-m", MODULES[name]]
        assert service["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "deploy.healthcheck"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["SHARELINE_MODE"] == "production"


def test_only_the_gateway_is_published() -> None:
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway"}


def test_postgres_creates_one_database_per_service_and_migrations_run_first() -> None:
    services = compose()["services"]
    init = [v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and init[0].startswith("./postgres/init-databases.sh:")
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    assert "for service in gateway extensions licensing aps" in script
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "deploy.migrate", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        assert f"SHARELINE_{name.upper()}_DATABASE_URL" in migrate["environment"]


def test_every_variable_compose_needs_is_in_the_env_example() -> None:
    assert compose_variables() <= env_example_keys()


def test_image_is_python_311_slim_installs_the_package_and_runs_unprivileged() -> None:
    recipe = (DEPLOY / "Containerfile").read_text()
    stages = [line for line in recipe.splitlines() if line.startswith("FROM ")]
    assert stages and all("python:3.11-slim" in line for line in stages)
    assert "pip install --quiet ." in recipe
    user = [line.split()[1] for line in recipe.splitlines() if line.startswith("USER ")]
    assert user and not user[-1].startswith(("0", "root"))


def test_container_health_check_follows_healthz() -> None:
    answers = {"/healthz": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answers.get(self.path, 404))
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        assert healthcheck.main(["healthcheck", port]) == 0
        answers["/healthz"] = 503
        assert healthcheck.main(["healthcheck", port]) == 1
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck.main(["healthcheck", str(free_port())]) == 1


def test_the_env_file_with_secrets_stays_out_of_the_image() -> None:
    ignored = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    assert "**/.env" in ignored
