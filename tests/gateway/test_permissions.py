"""The permission table: which role each (method, path) needs."""

from __future__ import annotations

import pytest

from gateway.permissions import Open, required_access
from gateway.users.models import Role


@pytest.mark.parametrize(
    ("method", "path", "access"),
    [
        ("POST", "/api/v1/auth/token", Open.anyone),
        ("GET", "/provision/001565aabbcc.cfg", Open.phone),
        ("GET", "/api/v1/extensions", Role.viewer),
        ("HEAD", "/api/v1/license", Role.viewer),
        ("GET", "/api/v1/aps/commits", Role.viewer),
        ("POST", "/api/v1/extensions", Role.operator),
        ("DELETE", "/api/v1/extensions/100", Role.operator),
        ("POST", "/api/v1/queues/sales/agents", Role.operator),
        ("POST", "/api/v1/telephony/commits", Role.operator),
        ("POST", "/api/v1/telephony/commits/3/rollback", Role.operator),
        ("POST", "/api/v1/aps/devices/001565aabbcc/qr", Role.operator),
        ("POST", "/api/v1/aps/resync", Role.operator),
        ("PUT", "/api/v1/license", Role.admin),
        ("POST", "/api/v1/license/reconcile", Role.admin),
        ("GET", "/api/v1/users", Role.admin),
        ("GET", "/api/v1/users/alice", Role.admin),
        ("POST", "/api/v1/somethingnew", Role.admin),
        ("GET", "/api/v1/extensionsfoo", Role.viewer),
        ("POST", "/api/v1/extensionsfoo", Role.admin),
        ("GET", "/api/v1/auth/token", Role.viewer),
    ],
)
def test_required_access(method: str, path: str, access: Role | Open) -> None:
    assert required_access(method, path) == access


def test_own_account_needs_only_a_signed_in_user() -> None:
    assert required_access("PUT", "/api/v1/users/alice", "alice") == Role.viewer
    assert required_access("PATCH", "/api/v1/users/alice", "alice") == Role.viewer
    assert required_access("GET", "/api/v1/users/alice", "alice") == Role.viewer
    assert required_access("DELETE", "/api/v1/users/alice", "alice") == Role.admin
    assert required_access("PUT", "/api/v1/users/alice", "bob") == Role.admin
    assert required_access("PUT", "/api/v1/users/alice/x", "alice") == Role.admin


def test_roles_are_ordered() -> None:
    assert Role.admin.at_least(Role.operator) and Role.operator.at_least(Role.viewer)
    assert not Role.viewer.at_least(Role.operator)
