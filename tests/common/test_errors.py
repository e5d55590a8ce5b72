from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from services.common.errors import Conflict, install_error_handlers
from services.common.middleware import RequestIdMiddleware


class Body(BaseModel):
    number: int
    password: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.post("/things")
    def create(body: Body) -> dict[str, int]:
        return {"number": body.number}

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("slot 100_2 is on device 001565000001", device="001565000001")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret-password-in-a-traceback")

    return app


async def test_validation_error_is_problem_json_without_echoing_input(lifespan_client) -> None:
    client = await lifespan_client(make_app())
    response = await client.post("/things", json={"number": "x", "password": 5})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:shareline:problem:validation-error"
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "number"), ("body", "password")}
    assert "input" not in response.text


async def test_malformed_json_is_problem_json(lifespan_client) -> None:
    client = await lifespan_client(make_app())
    response = await client.post(
        "/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_domain_error_carries_its_type_and_extra_members(lifespan_client) -> None:
    client = await lifespan_client(make_app())
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:shareline:problem:conflict"
    assert response.json()["device"] == "001565000001"


async def test_unknown_route_and_method_are_problem_json(lifespan_client) -> None:
    client = await lifespan_client(make_app())
    missing = await client.get("/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:shareline:problem:not-found"
    wrong = await client.delete("/things")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_unhandled_error_is_500_problem_without_details(lifespan_client) -> None:
    app = make_app()
    client = await lifespan_client(app)
    import httpx

    client._transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json()["type"] == "urn:shareline:problem:internal-error"
    assert "secret-password" not in response.text


async def test_request_id_is_echoed_or_generated(lifespan_client) -> None:
    client = await lifespan_client(make_app())
    given = await client.get("/conflict", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/conflict", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert len(made.headers["x-request-id"]) == 32
