"""Merging the services' OpenAPI documents into the gateway's."""

from __future__ import annotations

from typing import Any

from gateway.openapi_merge import merge


def _doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _op(ref: str) -> dict[str, Any]:
    return {
        "get": {
            "parameters": [{"in": "header", "name": "X-Service-Token", "schema": {}}],
            "responses": {
                "200": {
                    "content": {"application/json": {"schema": {"$ref": ref}}},
                    "description": "ok",
                }
            },
        }
    }


def test_same_named_different_schemas_are_both_kept_and_refs_follow() -> None:
    aps = _doc(
        {"/api/v1/aps/changes": _op("#/components/schemas/Changes")},
        {"Changes": {"title": "Changes", "type": "object", "properties": {"a": {}}}},
    )
    ext = _doc(
        {"/api/v1/telephony/changes": _op("#/components/schemas/Changes")},
        {"Changes": {"title": "Changes", "type": "object", "properties": {"b": {}}}},
    )
    merged = merge(_doc({}, {}), {"aps": aps, "extensions": ext})
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Changes", "ExtensionsChanges"}
    assert schemas["ExtensionsChanges"]["title"] == "ExtensionsChanges"
    assert "b" in schemas["ExtensionsChanges"]["properties"]
    telephony = merged["paths"]["/api/v1/telephony/changes"]["get"]
    ref = telephony["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ExtensionsChanges"


def test_operations_get_security_role_and_gateway_problems() -> None:
    ext = _doc(
        {
            "/api/v1/extensions": {"post": {"responses": {}}},
            "/internal/v1/secret": {"get": {"responses": {}}},
        },
        {},
    )
    aps = _doc({"/provision/{filename}": {"get": {"responses": {}}}}, {})
    merged = merge(_doc({}, {}), {"extensions": ext, "aps": aps})
    create = merged["paths"]["/api/v1/extensions"]["post"]
    assert create["security"] == [{"OAuth2PasswordBearer": []}]
    assert create["x-required-role"] == "operator"
    assert set(create["responses"]) == {"401", "403", "413", "503"}
    assert "/internal/v1/secret" not in merged["paths"]
    assert "security" not in merged["paths"]["/provision/{filename}"]["get"]


def test_the_service_token_header_is_not_documented_for_clients() -> None:
    ext = _doc({"/api/v1/extensions": _op("#/components/schemas/X")}, {"X": {"type": "object"}})
    merged = merge(_doc({}, {}), {"extensions": ext})
    assert "parameters" not in merged["paths"]["/api/v1/extensions"]["get"]
