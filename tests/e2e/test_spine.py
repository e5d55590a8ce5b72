"""The spine through real processes: tokens between services, a stopped upstream."""

from __future__ import annotations

import httpx
import pytest

from tests.support.suite import Suite

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["extensions", "licensing", "aps"])
def test_service_refuses_a_request_without_a_valid_service_token(suite: Suite, service) -> None:
    bare = httpx.get(suite.url(service) + "/openapi.json")
    assert bare.status_code == 401
    assert bare.headers["content-type"] == "application/problem+json"
    forged = httpx.get(
        suite.url(service) + "/openapi.json",
        headers={"X-Service-Token": suite.service_token("some-other-service")},
    )
    assert forged.status_code == 401
    good = httpx.get(
        suite.url(service) + "/openapi.json",
        headers={"X-Service-Token": suite.service_token(service)},
    )
    assert good.status_code == 200


def test_gateway_reports_each_service_ready(suite: Suite) -> None:
    response = httpx.get(suite.gateway + "/readyz")
    assert response.status_code == 200
    services = response.json()["checks"]["services"]["services"]
    assert set(services) == {"extensions", "licensing", "aps"}
    assert all(s["ok"] for s in services.values())


def test_request_id_passes_through_the_gateway(suite: Suite) -> None:
    with suite.admin_client() as admin:
        response = admin.get("/api/v1/aps/nothing", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    assert "trace-42" in suite.log_path("aps").read_text()


def test_stopped_service_gives_503_problem_naming_it(tmp_path) -> None:
    own = Suite(tmp_path)
    own.start_all()
    try:
        own.stop("licensing")
        with own.admin_client() as admin:
            response = admin.get("/api/v1/license")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["service"] == "licensing"
        assert "licensing" in response.json()["detail"]
        ready = httpx.get(own.gateway + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["services"]["services"]["licensing"]["ok"] is False
    finally:
        own.stop_all()


def test_merged_openapi_and_docs_are_served(suite: Suite) -> None:
    doc = httpx.get(suite.gateway + "/openapi.json").json()
    assert doc["info"]["title"] == "ShareLine API"
    assert "x-unavailable-services" not in doc["info"]
    docs = httpx.get(suite.gateway + "/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    # The three services' routes appear under their public paths.
    for path in (
        "/api/v1/extensions",
        "/api/v1/telephony/commits",
        "/api/v1/license",
        "/api/v1/aps/devices",
        "/provision/{filename}",
    ):
        assert path in doc["paths"], path
    assert not [p for p in doc["paths"] if p.startswith("/internal/")]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/extensions", b'{"number": "100", "name": '),  # cut off mid-document
        ("/api/v1/extensions", b'{"number": 100, "name": ["not", "a", "name"]}'),
        ("/api/v1/queues", b"[]"),
    ],
)
def test_malformed_body_through_the_gateway_is_422_problem_and_changes_nothing(
    suite: Suite, path: str, body: bytes
) -> None:
    with suite.admin_client() as admin:
        before = admin.get(path).json()
        response = admin.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:shareline:problem:validation-error"
        assert admin.get(path).json() == before
