"""One OpenAPI document for the whole suite, as a client of the gateway sees it.

Each service documents its own public paths; the gateway keeps the ones it forwards,
adds its own, and merges the component schemas. Two services that name different
schemas alike get the name prefixed with the service, and their `$ref`s follow.
Then every operation under /api/v1 is marked with what the gateway enforces: the
bearer-token security requirement and the role from gateway.permissions, and the
problem responses the gateway itself may answer (401, 403, 413, 503).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.permissions import Open, required_access
from gateway.routes_table import route_for
from services.common.errors import PROBLEM_MEDIA_TYPE, problem_type
from services.common.service_tokens import HEADER as SERVICE_TOKEN

REF_PREFIX = "#/components/schemas/"
SECURITY_SCHEME = "OAuth2PasswordBearer"
TOKEN_URL = "/api/v1/auth/token"  # noqa: S105
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SERVICE_TOKEN_HEADER = SERVICE_TOKEN.lower()

_GATEWAY_PROBLEMS = {
    "401": ("not-authenticated", "Unauthorized", "a valid bearer token is required"),
    "403": ("insufficient-role", "Forbidden", "this needs the operator role; you have viewer"),
    "413": ("payload-too-large", "Payload too large", "the request body is larger than 1048576"),
    "503": ("service-unavailable", "Service unavailable", "the extensions service is unavailable"),
}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return node
    text = json.dumps(node)
    for old, new in renames.items():
        text = text.replace(f'"{REF_PREFIX}{old}"', f'"{REF_PREFIX}{new}"')
    return json.loads(text)


def merge(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = copy.deepcopy(gateway_doc)
    merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, doc in sorted(service_docs.items()):
        service_schemas = doc.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.capitalize()}{name}"
            for name, schema in service_schemas.items()
            if name in schemas and schemas[name] != schema
        }
        doc = _rename_refs(doc, renames)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in renames:
                # Client generators name models after `title`; keep it unique too.
                schema = {**schema, "title": renames[name]}
            schemas.setdefault(renames.get(name, name), schema)
        for path, item in doc.get("paths", {}).items():
            route = route_for(path)
            if route is not None and route.service == service:
                for operation in item.values():
                    if isinstance(operation, dict):
                        tags = operation.setdefault("tags", [])
                        if not tags:
                            tags.append(service)
                merged["paths"][path] = item
        for name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {}).setdefault(name, scheme)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    _document_gateway_rules(merged)
    return merged


def _problem_response(status: str) -> dict[str, Any]:
    slug, title, detail = _GATEWAY_PROBLEMS[status]
    example = {"type": problem_type(slug), "title": title, "status": int(status), "detail": detail}
    return {
        "description": title,
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF_PREFIX + "Problem"}, "example": example}
        },
    }


def _document_gateway_rules(doc: dict[str, Any]) -> None:
    schemes = doc["components"].setdefault("securitySchemes", {})
    schemes[SECURITY_SCHEME] = {
        "type": "oauth2",
        "description": "Log in with POST /api/v1/auth/token; send `Authorization: Bearer <token>`",
        "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": {}}},
    }
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                _document_operation(operation, method, path)


def _document_operation(operation: dict[str, Any], method: str, path: str) -> None:
    access = required_access(method, path)
    responses = operation.setdefault("responses", {})
    operation["parameters"] = [
        p
        for p in operation.get("parameters", [])
        if not (p.get("in") == "header" and p.get("name", "").lower() == SERVICE_TOKEN_HEADER)
    ]
    if not operation["parameters"]:
        del operation["parameters"]
    if isinstance(access, Open):
        if access is Open.anyone:
            operation["security"] = []
            responses.setdefault("413", _problem_response("413"))
        return
    operation["security"] = [{SECURITY_SCHEME: []}]
    operation["x-required-role"] = access.value
    note = f"Requires the `{access.value}` role (or higher)."
    own = required_access(method, path.replace("{username}", "me"), "me")
    if own != access:
        note = f"Requires the `{access.value}` role, or the `{own}` role for one's own account."
    description = operation.get("description", "")
    operation["description"] = f"{description}\n\n{note}".strip() if description else note
    for status in ("401", "403", "413", "503"):
        responses.setdefault(status, _problem_response(status))
