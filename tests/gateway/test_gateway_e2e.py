"""The hardened front door through real processes: tokens, roles, bodies, OpenAPI."""

from __future__ import annotations

import base64
import json
import os
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.admin import SUITE_ADMIN_PASSWORD, SUITE_ADMIN_TOKEN_SECRET, admin_token
from tests.support.suite import SECRET as SERVICE_SECRET
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

ISSUER, AUDIENCE = "shareline-gateway", "shareline-api"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    suite = Suite(tmp_path_factory.mktemp("gateway-e2e"))
    suite.start_all()
    try:
        with suite.admin_client() as admin:
            for name, role in (("vera", "viewer"), ("otto", "operator")):
                created = admin.post(
                    "/api/v1/users",
                    json={"username": name, "password": f"{name}-password-123", "role": role},
                )
                assert created.status_code == 201, created.text
        yield suite
    finally:
        suite.stop_all()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "admin",
        "role": "admin",
        "ver": 0,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _signed(claims: dict[str, Any], key: str = SUITE_ADMIN_TOKEN_SECRET, alg: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns that the key is short for HS512
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=alg)


def _tampered(token: str) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{_b64(_claims(sub='vera', role='admin'))}.{signature}"


def test_a_correctly_signed_token_is_accepted(running: Suite) -> None:
    # The control for the forgeries below: same claims, right key, right algorithm.
    response = httpx.get(running.gateway + "/api/v1/users", headers=_bearer(_signed(_claims())))
    assert response.status_code == 200


BAD_TOKENS = {
    "alg none": lambda: _unsigned(_claims()),
    "alg none, empty signature kept": lambda: _unsigned(_claims()) + "x",
    "signed with the service-token secret": lambda: _signed(_claims(), SERVICE_SECRET),
    "signed with another secret": lambda: _signed(_claims(), "another-secret-" + "x" * 30),
    "HS512 with the right secret": lambda: _signed(_claims(), alg="HS512"),
    "expired": lambda: _signed(_claims(iat=int(time.time()) - 3600, exp=int(time.time()) - 60)),
    "not yet valid": lambda: _signed(_claims(nbf=int(time.time()) + 600)),
    "wrong issuer": lambda: _signed(_claims(iss="someone-else")),
    "issuer a prefix of ours": lambda: _signed(_claims(iss="shareline-gate")),
    "issuer with ours as prefix": lambda: _signed(_claims(iss="shareline-gateway.evil")),
    "issuer a substring of ours": lambda: _signed(_claims(iss="shareline")),
    "wrong audience": lambda: _signed(_claims(aud="extensions")),
    "audience list": lambda: _signed(_claims(aud=[AUDIENCE, "other"])),
    "no subject": lambda: _signed(_claims(sub=None)),
    "no expiry": lambda: _signed(_claims(exp=None)),
    "no issued-at": lambda: _signed(_claims(iat=None)),
    "unknown role": lambda: _signed(_claims(role="root")),
    "no token version": lambda: _signed(_claims(ver=None)),
    "old token version": lambda: _signed(_claims(ver=-1)),
    "unknown user": lambda: _signed(_claims(sub="mallory")),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401_with_a_bearer_challenge(running: Suite, kind: str) -> None:
    response = httpx.get(running.gateway + "/api/v1/users", headers=_bearer(BAD_TOKENS[kind]()))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:shareline:problem:not-authenticated"


def test_a_tampered_payload_is_401(running: Suite) -> None:
    viewer = admin_token(running.gateway, "vera", "vera-password-123")
    assert (
        httpx.get(running.gateway + "/api/v1/users/vera", headers=_bearer(viewer)).status_code
        == 200
    )
    forged = httpx.get(running.gateway + "/api/v1/users", headers=_bearer(_tampered(viewer)))
    assert forged.status_code == 401


def test_missing_token_and_token_in_query_are_401(running: Suite) -> None:
    token = admin_token(running.gateway)
    for params in ({}, {"access_token": token}, {"token": token}):
        response = httpx.get(running.gateway + "/api/v1/license", params=params)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_viewer_cannot_commit_telephony_and_an_operator_cannot_install_a_license(
    running: Suite,
) -> None:
    viewer = _bearer(admin_token(running.gateway, "vera", "vera-password-123"))
    operator = _bearer(admin_token(running.gateway, "otto", "otto-password-123"))
    refused = [
        ("POST", "/api/v1/telephony/commits", viewer),
        ("POST", "/api/v1/extensions", viewer),
        ("PUT", "/api/v1/license", operator),
        ("POST", "/api/v1/license/reconcile", operator),
        ("POST", "/api/v1/users", operator),
    ]
    for method, path, headers in refused:
        response = httpx.request(method, running.gateway + path, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["type"] == "urn:shareline:problem:insufficient-role"
    # The same people get past the gateway where their role allows it.
    allowed = [
        ("GET", "/api/v1/license", viewer),
        ("GET", "/api/v1/extensions", viewer),
        ("POST", "/api/v1/telephony/commits", operator),
    ]
    for method, path, headers in allowed:
        response = httpx.request(method, running.gateway + path, headers=headers, json={})
        assert response.status_code not in (401, 403), (method, path, response.text)


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("extensions", "/api/v1/extensions"),
        ("licensing", "/api/v1/license"),
        ("aps", "/api/v1/aps/devices"),
    ],
)
def test_a_service_called_directly_refuses_even_an_admin_bearer_token(
    running: Suite, service: str, path: str
) -> None:
    token = admin_token(running.gateway)
    for headers in ({}, _bearer(token)):
        response = httpx.get(running.url(service) + "/openapi.json", headers=headers)
        assert response.status_code == 401
        # 404 while a service has not wired this route yet; never an answer.
        response = httpx.get(running.url(service) + path, headers=headers)
        assert response.status_code in (401, 404)
        assert response.headers["content-type"] == "application/problem+json"


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("path", ["/api/v1/extensions", "/api/v1/users", "/api/v1/auth/token"])
def test_huge_and_deeply_nested_bodies_are_refused_quickly(running: Suite, path: str) -> None:
    pid = running.procs["gateway"].pid
    before = _rss_kib(pid)
    with running.admin_client() as admin:
        started = time.monotonic()
        huge = admin.post(path, content=b"x" * 10_000_000)
        assert huge.status_code == 413
        assert huge.headers["content-type"] == "application/problem+json"

        def streamed() -> Iterator[bytes]:
            for _ in range(160):
                yield b"y" * 65536

        assert admin.post(path, content=streamed()).status_code == 413
        deep = admin.post(
            path,
            content=b"[" * 10_000 + b"]" * 10_000,
            headers={"Content-Type": "application/json"},
        )
        assert deep.status_code == 400
        assert deep.json()["type"] == "urn:shareline:problem:json-too-deep"
        assert time.monotonic() - started < 5.0
    assert _rss_kib(pid) - before < 30_000
    assert httpx.get(running.gateway + "/healthz").status_code == 200


def test_merged_openapi_documents_security_and_gateway_problems(running: Suite) -> None:
    doc = httpx.get(running.gateway + "/openapi.json").json()
    assert "x-unavailable-services" not in doc["info"]
    scheme = doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    operations = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and method in ("get", "post", "put", "patch", "delete")
    ]
    assert any(p.startswith("/api/v1/users") for p, _, _ in operations)
    for path, method, op in operations:
        if path == "/api/v1/auth/token":
            assert op["security"] == []
        elif path.startswith("/api/v1/"):
            assert op["security"] == [{"OAuth2PasswordBearer": []}], (path, method)
            assert op["x-required-role"] in ("viewer", "operator", "admin")
            for status in ("401", "403", "413", "503"):
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content, (path, method, status)
        elif path.startswith("/provision/"):
            assert "OAuth2PasswordBearer" not in json.dumps(op.get("security", []))
    roles = {(p, m): op.get("x-required-role") for p, m, op in operations}
    assert roles[("/api/v1/users", "post")] == "admin"


def test_every_reference_in_the_merged_openapi_resolves(running: Suite) -> None:
    doc = httpx.get(running.gateway + "/openapi.json").json()
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    prefix = '"#/components/schemas/'
    refs = {part.split('"', 1)[0] for part in text.split(prefix)[1:]}
    assert refs and refs <= set(schemas), sorted(refs - set(schemas))
    titles = [s.get("title") for s in schemas.values() if s.get("title")]
    assert len(titles) == len(set(titles))


def test_parallel_wrong_passwords_lock_exactly_at_the_threshold(running: Suite) -> None:
    with running.admin_client() as admin:
        created = admin.post(
            "/api/v1/users",
            json={"username": "lucky", "password": "lucky-password-123", "role": "viewer"},
        )
        assert created.status_code == 201
    form = {"username": "lucky", "password": "wrong-guess-123", "grant_type": "password"}
    url = running.gateway + "/api/v1/auth/token"
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, data=form, timeout=30), range(5)))
    assert [a.status_code for a in answers] == [401] * 5
    right = {**form, "password": "lucky-password-123"}
    locked = httpx.post(url, data=right, timeout=30)
    assert locked.status_code == 401
    assert locked.json() == answers[0].json()


def test_two_concurrent_creates_of_one_username_give_one_account(running: Suite) -> None:
    body = {"username": "twin", "password": "twin-password-123", "role": "viewer"}
    with running.admin_client() as admin:
        admin.get("/api/v1/users")  # log in once, before the race
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda _: admin.post("/api/v1/users", json=body), range(2)))
        assert sorted(a.status_code for a in answers) == [201, 409]
        names = [u["username"] for u in admin.get("/api/v1/users").json()]
    assert names.count("twin") == 1


def test_the_services_examples_survive_the_merge(running: Suite) -> None:
    merged = httpx.get(running.gateway + "/openapi.json").json()
    kept = {
        json.dumps(s.get("examples"), sort_keys=True)
        for s in merged["components"]["schemas"].values()
    }
    checked = 0
    for service in ("extensions", "licensing", "aps"):
        own = httpx.get(
            running.url(service) + "/openapi.json",
            headers={"X-Service-Token": running.service_token(service)},
        ).json()
        for name, schema in own.get("components", {}).get("schemas", {}).items():
            if "examples" in schema:
                assert json.dumps(schema["examples"], sort_keys=True) in kept, (service, name)
                checked += 1
    assert checked > 0


def test_tokens_and_passwords_stay_out_of_the_logs(running: Suite) -> None:
    token = admin_token(running.gateway)
    httpx.get(
        running.gateway + "/api/v1/extensions",
        params={"access_token": token},
        headers=_bearer(token),
    )
    httpx.post(
        running.gateway + "/api/v1/auth/token",
        data={"username": "admin", "password": "a-wrong-password-XYZ", "grant_type": "password"},
    )
    logs = running.logs()
    assert token not in logs
    assert token.split(".")[2] not in logs
    assert "a-wrong-password-XYZ" not in logs
    assert SUITE_ADMIN_PASSWORD not in logs
