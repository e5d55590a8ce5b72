"""Who may do what: the one table that decides the role each request needs.

Rules are tried top to bottom; the first whose methods and path match decides.
Roles are ordered viewer < operator < admin, and a role may do all a lower one may.
A path under /api/v1 that no rule names needs an admin: new routes are closed until
someone decides otherwise here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.users.models import Role

READ = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY = READ | WRITE
USERS_PREFIX = "/api/v1/users"
OWN_ACCOUNT = USERS_PREFIX + "/{self}"


class Open(StrEnum):
    """Access that needs no administrator token."""

    anyone = "anyone"
    phone = "phone"  # the phone's own credentials, checked by aps


Access = Role | Open


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    path: str  # a prefix; OWN_ACCOUNT matches the caller's own /api/v1/users/{username}
    access: Access


RULES: tuple[Rule, ...] = (
    Rule(frozenset({"POST"}), "/api/v1/auth/token", Open.anyone),
    Rule(ANY, "/provision/", Open.phone),
    Rule(frozenset({"GET", "HEAD", "PUT", "PATCH"}), OWN_ACCOUNT, Role.viewer),
    Rule(ANY, USERS_PREFIX, Role.admin),
    Rule(WRITE, "/api/v1/license", Role.admin),
    Rule(WRITE, "/api/v1/extensions", Role.operator),
    Rule(WRITE, "/api/v1/queues", Role.operator),
    Rule(WRITE, "/api/v1/telephony", Role.operator),
    Rule(WRITE, "/api/v1/aps", Role.operator),
    Rule(READ, "/api/v1/", Role.viewer),
)
DEFAULT_ACCESS: Access = Role.admin


def _matches(rule: Rule, method: str, path: str, username: str | None) -> bool:
    if method not in rule.methods:
        return False
    if rule.path == OWN_ACCOUNT:
        return username is not None and path == f"{USERS_PREFIX}/{username}"
    if rule.path.endswith("/"):
        return path.startswith(rule.path)
    return path == rule.path or path.startswith(rule.path + "/")


def required_access(method: str, path: str, username: str | None = None) -> Access:
    """The access a request needs; `username` is the caller's, once known."""
    method = method.upper()
    for rule in RULES:
        if _matches(rule, method, path, username):
            return rule.access
    return DEFAULT_ACCESS


def is_open(method: str, path: str) -> bool:
    return isinstance(required_access(method, path), Open)
