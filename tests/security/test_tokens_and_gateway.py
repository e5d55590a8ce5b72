# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
"""SECURITY.md catalogue, "Tokens and gateway": forged admin tokens, roles, the service
token, bodies, and the gateway's own findings (control characters, /metrics, logs).

The gateway runs in process with upstreams that record what reaches them, so each
refusal is also shown never to reach a service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.app import create_app
from gateway.settings import LOCAL_ADMIN_TOKEN_SECRET, Settings
from tests.gateway.conftest import ADMIN_PASSWORD, make_settings  # noqa: F401  (fixture)
from tests.gateway.helpers import add_user, bearer

PROBLEM = "application/problem+json"
ISSUER, AUDIENCE = "shareline-gateway", "shareline-api"
PUBLIC_PEM = (
    Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)


class Recorder:
    """An upstream that answers 200 and remembers what reached it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


@pytest.fixture
async def front(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    app = create_app(make_settings(trusted_proxies=["10.0.0.1"]))
    client = await lifespan_client(app)
    recorder = Recorder()
    for upstream in app.state.upstreams.values():
        await upstream.client.aclose()
        upstream.client = httpx.AsyncClient(
            transport=httpx.MockTransport(recorder), base_url="http://upstream"
        )
    yield client, recorder


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "role": "admin", "ver": 0}
    claims.update({"iat": now, "nbf": now, "exp": now + 300})
    claims.update(overrides)
    return claims


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], key: bytes) -> str:
    # By hand: PyJWT itself (rightly) refuses a PEM public key as an HMAC secret.
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _good(**overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), LOCAL_ADMIN_TOKEN_SECRET, algorithm="HS256")


def _unsigned(claims: dict[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}."


def _tampered() -> str:
    head, _body, signature = _good(role="viewer").split(".")
    return f"{head}.{_b64(json.dumps(_claims()).encode())}.{signature}"


FORGED = {
    "alg-none": lambda: _unsigned(_claims()),
    "hs256-signed-with-a-public-key": lambda: _hs256(_claims(), PUBLIC_PEM),
    "expired": lambda: _good(iat=int(time.time()) - 900, exp=int(time.time()) - 60),
    "future-nbf": lambda: _good(nbf=int(time.time()) + 600),
    "wrong-iss": lambda: _good(iss="someone-else"),
    "prefix-iss": lambda: _good(iss="shareline-gate"),
    "wrong-aud": lambda: _good(aud="extensions"),
    "tampered-payload": _tampered,
}


async def test_the_control_token_is_accepted(front: tuple[httpx.AsyncClient, Recorder]) -> None:
    client, recorder = front
    response = await client.get("/api/v1/license", headers={"Authorization": f"Bearer {_good()}"})
    assert response.status_code == 200 and len(recorder.requests) == 1


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED.keys())
async def test_forged_admin_token_is_401(
    front: tuple[httpx.AsyncClient, Recorder], forge: Callable[[], str]
) -> None:
    client, recorder = front
    response = await client.get("/api/v1/license", headers={"Authorization": f"Bearer {forge()}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    assert recorder.requests == []


async def test_wrong_role_is_403(front: tuple[httpx.AsyncClient, Recorder]) -> None:
    client, recorder = front
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    viewer = await add_user(client, admin, "vic", "viewer")
    response = await client.post("/api/v1/telephony/commits", headers=viewer)
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM
    assert recorder.requests == []


async def test_a_number_where_a_boolean_belongs_is_422(
    front: tuple[httpx.AsyncClient, Recorder],
) -> None:
    # Found by schemathesis: `{"disabled": 1}` would have disabled the account.
    client, _ = front
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    await add_user(client, admin, "vic", "viewer")
    refused = await client.patch("/api/v1/users/vic", headers=admin, json={"disabled": 1})
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert (await client.get("/api/v1/users/vic", headers=admin)).json()["disabled"] is False


async def test_token_in_a_query_string_is_ignored(
    front: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = front
    for name in ("access_token", "token", "jwt"):
        response = await client.get("/api/v1/license", params={name: _good()})
        assert response.status_code == 401
    assert recorder.requests == []


@pytest.mark.parametrize("service", ["extensions", "licensing", "aps"])
async def test_calling_a_service_directly_without_a_service_token_is_401(
    lifespan_client: Any, tmp_path: Any, service: str
) -> None:
    from tests.support.databases import make_database_url

    url = make_database_url(tmp_path, service)
    if service == "extensions":
        from services.extensions.app import create_app as build
        from services.extensions.settings import Settings as ServiceSettings

        app = build(ServiceSettings(data_dir=tmp_path, extensions_database_url=url))
        path = "/api/v1/extensions"
    elif service == "licensing":
        from services.licensing.app import create_app as build_licensing
        from services.licensing.settings import Settings as LicensingSettings

        app = build_licensing(LicensingSettings(data_dir=tmp_path, licensing_database_url=url))
        path = "/api/v1/license"
    else:
        from services.aps.app import create_app as build_aps
        from services.aps.settings import Settings as ApsSettings

        app = build_aps(ApsSettings(data_dir=tmp_path, aps_database_url=url))
        path = "/api/v1/aps/devices"
    client = await lifespan_client(app)
    for headers in ({}, {"Authorization": f"Bearer {_good()}"}):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, (service, headers)
        assert response.headers["content-type"] == PROBLEM


async def test_ten_megabyte_body_is_413_quickly_without_reading_it_all(
    front: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = front
    headers = {"Authorization": f"Bearer {_good()}", "Content-Type": "application/json"}

    async def ten_megabytes() -> AsyncIterator[bytes]:
        for _ in range(160):
            yield b" " * 65_536

    tracemalloc.start()
    started = time.monotonic()
    try:
        response = await client.post("/api/v1/extensions", headers=headers, content=ten_megabytes())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413 and response.headers["content-type"] == PROBLEM
    assert time.monotonic() - started < 3.0
    assert peak < 4 * 1_048_576, "the body is refused at the limit, not buffered whole"
    assert recorder.requests == []


async def test_json_nested_ten_thousand_deep_is_400_quickly(
    front: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = front
    headers = {"Authorization": f"Bearer {_good()}", "Content-Type": "application/json"}
    started = time.monotonic()
    response = await client.post(
        "/api/v1/extensions", headers=headers, content=b"[" * 10_000 + b"]" * 10_000
    )
    assert response.status_code == 400
    assert response.json()["type"] == "urn:shareline:problem:json-too-deep"
    assert time.monotonic() - started < 2.0
    assert recorder.requests == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/aps/devices/%11",
        "/provision/%1b.cfg",
        "/api/v1/extensions/%09",
        "/api/v1/extensions/10%0a0",
    ],
    ids=["dc1", "escape", "tab", "newline"],
)
async def test_a_path_with_control_characters_is_404_and_reaches_no_service(
    front: tuple[httpx.AsyncClient, Recorder], path: str
) -> None:
    # Found by schemathesis: the proxy answered 500 (no upstream URL could be built), or,
    # for tabs and newlines, forwarded `/x/%09` as `/x/` (urlsplit drops them), which a
    # service answered with a redirect to its own internal address.
    client, recorder = front
    response = await client.delete(path, headers={"Authorization": f"Bearer {_good()}"})
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert recorder.requests == []


async def test_an_upstream_redirect_never_names_the_services_internal_address(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    # Found while fixing the control characters: `GET /api/v1/extensions/` came back as a
    # 307 to http://<extensions host:port>/api/v1/extensions.
    app = create_app(make_settings())
    client = await lifespan_client(app)

    def redirects(request: httpx.Request) -> httpx.Response:
        internal = f"{request.url.scheme}://{request.url.netloc.decode()}"
        return httpx.Response(307, headers={"location": f"{internal}/api/v1/extensions?x=1"})

    for upstream in app.state.upstreams.values():
        await upstream.aclose()
        upstream.client = httpx.AsyncClient(
            transport=httpx.MockTransport(redirects), base_url="http://extensions.internal:8001"
        )
    response = await client.get(
        "/api/v1/extensions/", headers={"Authorization": f"Bearer {_good()}"}
    )
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/extensions?x=1"


@pytest.mark.parametrize(
    "relayed",
    [{"X-Forwarded-For": "198.51.100.7"}, {"Forwarded": "for=198.51.100.7"}],
    ids=["x-forwarded-for", "forwarded"],
)
async def test_metrics_are_served_to_direct_callers_only(
    front: tuple[httpx.AsyncClient, Recorder], relayed: dict[str, str]
) -> None:
    client, _ = front
    direct = await client.get("/metrics")
    assert direct.status_code == 200 and "shareline_http_requests_total" in direct.text
    proxied = await client.get("/metrics", headers=relayed)
    assert proxied.status_code == 404 and proxied.headers["content-type"] == PROBLEM
    assert "shareline_" not in proxied.text


async def test_access_logs_carry_no_token_or_password(
    front: tuple[httpx.AsyncClient, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = front
    token = _good()
    await client.get("/api/v1/license", headers={"Authorization": f"Bearer {token}"})
    await client.get("/api/v1/license", params={"access_token": token})
    await client.get("/provision/softphone/" + "S" * 43)
    await client.post(
        "/api/v1/auth/token",
        data={"username": "admin", "password": ADMIN_PASSWORD, "grant_type": "password"},
    )
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "/api/v1/license" in logs
    assert token not in logs and ADMIN_PASSWORD not in logs and "S" * 43 not in logs
