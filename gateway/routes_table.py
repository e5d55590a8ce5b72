"""Which public path belongs to which service."""

from __future__ import annotations

from dataclasses import dataclass

UPSTREAM_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/v1/extensions", "extensions"),
    ("/api/v1/queues", "extensions"),
    ("/api/v1/telephony", "extensions"),
    ("/api/v1/license", "licensing"),
    ("/api/v1/aps", "aps"),
    ("/provision/", "aps"),
)

PHONE_PREFIX = "/provision/"


@dataclass(frozen=True)
class Route:
    service: str
    phone_facing: bool


def route_for(path: str) -> Route | None:
    for prefix, service in UPSTREAM_PREFIXES:
        if prefix.endswith("/"):
            matched = path.startswith(prefix)
        else:
            matched = path == prefix or path.startswith(prefix + "/")
        if matched:
            return Route(service, prefix == PHONE_PREFIX)
    return None


def is_public_path(path: str) -> bool:
    return route_for(path) is not None
