"""One OpenAPI document for the whole suite, as a client of the gateway sees it.

Each service documents its own public paths; the gateway keeps the ones it forwards,
adds its own, and merges the component schemas. Two services that name different
schemas alike get the name prefixed with the service, and their `$ref`s follow.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.routes_table import route_for

REF_PREFIX = "#/components/schemas/"


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
            schemas.setdefault(name, schema)
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
    return merged
