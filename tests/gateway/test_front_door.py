"""The front door without real upstreams: identity forwarded, CORS, bodies, tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from gateway.app import create_app
from gateway.body_guard import json_depth_exceeds
from gateway.settings import Settings
from services.common.settings import LOCAL_SERVICE_SECRET
from tests.gateway.conftest import ADMIN_PASSWORD
from tests.gateway.helpers import add_user, bearer


class Recorder:
    """An upstream that answers 200 and remembers what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


async def _with_recording_upstreams(
    lifespan_client: Any, settings: Settings
) -> tuple[httpx.AsyncClient, Recorder]:
    app = create_app(settings)
    client = await lifespan_client(app)
    recorder = Recorder()
    for upstream in app.state.upstreams.values():
        await upstream.client.aclose()
        upstream.client = httpx.AsyncClient(
            transport=httpx.MockTransport(recorder), base_url="http://upstream"
        )
    return client, recorder


@pytest.fixture
async def recorded(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> tuple[httpx.AsyncClient, Recorder]:
    return await _with_recording_upstreams(lifespan_client, make_settings())


async def test_the_service_token_names_the_administrator_and_role(recorded) -> None:
    client, recorder = recorded
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    operator = await add_user(client, admin, "olga", "operator")
    response = await client.post("/api/v1/extensions", headers=operator, json={"number": "100"})
    assert response.status_code == 200
    (sent,) = recorder.requests
    assert "authorization" not in sent.headers  # the admin token stays at the gateway
    claims = jwt.decode(
        sent.headers["x-service-token"],
        LOCAL_SERVICE_SECRET,
        algorithms=["HS256"],
        audience="extensions",
    )
    assert (claims["iss"], claims["sub"], claims["role"]) == ("gateway", "olga", "operator")
    assert json.loads(sent.content) == {"number": "100"}


async def test_phones_pass_with_their_own_authorization_and_no_admin_token(recorded) -> None:
    client, recorder = recorded
    response = await client.get(
        "/provision/001565aabbcc.cfg", headers={"Authorization": "Basic cGhvbmU6c2VjcmV0"}
    )
    assert response.status_code == 200
    (sent,) = recorder.requests
    assert sent.headers["authorization"] == "Basic cGhvbmU6c2VjcmV0"
    assert "sub" not in jwt.decode(
        sent.headers["x-service-token"], options={"verify_signature": False}
    )


async def test_a_token_in_the_query_string_is_ignored(recorded) -> None:
    client, recorder = recorded
    token = (await bearer(client, "admin", ADMIN_PASSWORD))["Authorization"].split()[1]
    for name in ("access_token", "token"):
        response = await client.get("/api/v1/license", params={name: token})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert recorder.requests == []


async def test_refusals_reach_no_upstream(recorded) -> None:
    client, recorder = recorded
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    viewer = await add_user(client, admin, "vic", "viewer")
    assert (await client.post("/api/v1/telephony/commits", headers=viewer)).status_code == 403
    assert (await client.get("/api/v1/license")).status_code == 401
    assert recorder.requests == []


@pytest.mark.parametrize(
    "path", ["/api/v1/extensions/%2e%2e/license", "/api/v1/extensions/%2E/x", "/api/v1//users"]
)
async def test_dot_segments_never_reach_a_service(recorded, path: str) -> None:
    client, recorder = recorded
    admin = await bearer(client, "admin", ADMIN_PASSWORD)
    operator = await add_user(client, admin, "olga", "operator")
    response = await client.put(path, headers=operator, content=b"{}")
    assert response.status_code == 404
    assert recorder.requests == []


async def test_cors_allows_only_configured_origins(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await lifespan_client(
        create_app(make_settings(cors_origins=["https://admin.example.com"]))
    )
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await client.options(
        "/api/v1/extensions", headers={"Origin": "https://admin.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://admin.example.com"
    other = await client.options(
        "/api/v1/extensions", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers
    simple = await client.get("/healthz", headers={"Origin": "https://admin.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://admin.example.com"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_without_cors_origins_no_cross_origin_headers(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz", headers={"Origin": "https://admin.example.com"})
    assert "access-control-allow-origin" not in response.headers


async def test_the_gateways_own_routes_are_body_limited(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await lifespan_client(create_app(make_settings(max_body_bytes=1000)))
    form = {"username": "admin", "password": ADMIN_PASSWORD, "padding": "x" * 2000}
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 413
    assert response.json()["type"] == "urn:shareline:problem:payload-too-large"


async def test_the_limit_holds_for_a_body_without_content_length(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await lifespan_client(create_app(make_settings(max_body_bytes=1000)))

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 500

    response = await client.post("/api/v1/auth/token", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 32 + b"]" * 32, False),
        (b'{"a": "' + b"[" * 100 + b'"}', False),
        (b'{"a": "\\"' + b"[" * 100 + b'"}', False),
        (b"[" + b"{}," * 1000 + b"{}]", False),
        (b'{"a":' * 40 + b"1" + b"}" * 40, True),
    ],
)
def test_json_depth_counts_brackets_outside_strings(body: bytes, deep: bool) -> None:
    assert json_depth_exceeds(body, 32) is deep


async def test_each_upstream_has_its_own_timeout(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(
        make_settings(
            extensions_timeout_seconds=7, licensing_timeout_seconds=3, aps_timeout_seconds=42
        )
    )
    await lifespan_client(app)
    timeouts = {name: u.client.timeout.read for name, u in app.state.upstreams.items()}
    assert timeouts == {"extensions": 7, "licensing": 3, "aps": 42}


async def test_an_upstream_timeout_is_a_504_problem_naming_the_service(
    lifespan_client: Any, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(make_settings())
    client = await lifespan_client(app)

    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    upstream = app.state.upstreams["licensing"]
    await upstream.client.aclose()
    upstream.client = httpx.AsyncClient(
        transport=httpx.MockTransport(too_slow), base_url="http://licensing"
    )
    response = await client.get(
        "/api/v1/license", headers=await bearer(client, "admin", ADMIN_PASSWORD)
    )
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "licensing"
