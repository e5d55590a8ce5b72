"""The extensions OpenAPI document: every contract path, examples, problem responses."""

from __future__ import annotations

from typing import Any

import pytest

CONTRACT = {
    ("post", "/api/v1/extensions"),
    ("get", "/api/v1/extensions"),
    ("get", "/api/v1/extensions/{number}"),
    ("patch", "/api/v1/extensions/{number}"),
    ("delete", "/api/v1/extensions/{number}"),
    ("get", "/api/v1/extensions/{number}/slots"),
    ("get", "/api/v1/extensions/{number}/slots/{auth_name}"),
    ("patch", "/api/v1/extensions/{number}/slots/{auth_name}"),
    ("get", "/api/v1/extensions/{number}/credentials"),
    ("post", "/api/v1/queues"),
    ("get", "/api/v1/queues"),
    ("get", "/api/v1/queues/{name}"),
    ("delete", "/api/v1/queues/{name}"),
    ("get", "/api/v1/queues/{name}/agents"),
    ("post", "/api/v1/queues/{name}/agents"),
    ("delete", "/api/v1/queues/{name}/agents/{extension}"),
    ("get", "/api/v1/telephony/changes"),
    ("post", "/api/v1/telephony/commits"),
    ("get", "/api/v1/telephony/commits"),
    ("get", "/api/v1/telephony/commits/{rev}"),
    ("get", "/api/v1/telephony/commits/{rev}/files/{name}"),
    ("post", "/api/v1/telephony/commits/{rev}/rollback"),
    ("get", "/internal/v1/telephony/committed"),
    ("post", "/internal/v1/telephony/contacts"),
    ("post", "/internal/v1/telephony/notify"),
}


@pytest.fixture
async def document(api) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _example(document: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    if not schema:
        return True
    if schema.get("type") == "array":
        return _example(document, schema.get("items"))
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return bool(schema.get("examples") or schema.get("example"))


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in document["paths"].items()
        if path.startswith(("/api/", "/internal/"))
        for method, op in item.items()
    }


async def test_every_contract_route_is_documented(document) -> None:
    assert set(_operations(document)) == CONTRACT


async def test_every_route_documents_problems_and_examples(document) -> None:
    for key, op in _operations(document).items():
        responses = op["responses"]
        assert "application/problem+json" in responses["401"]["content"], key
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        assert _example(document, body.get("schema")), f"{key}: request example"
        success = responses.get("200") or responses.get("201") or {}
        schema = success.get("content", {}).get("application/json", {}).get("schema")
        assert _example(document, schema), f"{key}: response example"
        if body:
            assert "422" in responses, key


async def test_no_public_model_carries_a_password_except_the_credentials_sheet(
    document,
) -> None:
    schemas = document["components"]["schemas"]
    with_password = {n for n, s in schemas.items() if "password" in s.get("properties", {})}
    assert with_password == {
        "ExtensionCreate",
        "ExtensionUpdate",
        "SlotCredentials",
        "CommittedExtensionOut",
    }
