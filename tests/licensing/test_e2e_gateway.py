"""Licensing through the gateway, as an administrator sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.licensing.vendor_cli import issue_key, key_id, public_pem
from tests.support.admin import SUITE_ADMIN_USERNAME, admin_client
from tests.support.suite import Suite

pytestmark = pytest.mark.e2e

VENDOR = Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    suite = Suite(
        tmp_path_factory.mktemp("licensing-gateway"),
        extra_env={
            "SHARELINE_LICENSE_PUBLIC_KEYS": json.dumps({key_id(VENDOR): public_pem(VENDOR)})
        },
    )
    suite.start_all()
    try:
        with admin_client(suite.gateway) as client:
            yield client
    finally:
        suite.stop_all()


def test_trial_then_installed_key_recorded_with_the_administrator(gateway: httpx.Client) -> None:
    status = gateway.get("/api/v1/license").json()
    assert status["license"]["trial"] is True
    key = issue_key(
        VENDOR,
        system_id=status["system_id"],
        users=50,
        shared_devices=20,
        softphones=5,
        days=365,
        customer="Example GmbH",
    )
    installed = gateway.put("/api/v1/license", json={"key": key})
    assert installed.status_code == 200, installed.text
    assert installed.json()["pools"]["users"]["capacity"] == 50
    audit = gateway.get("/api/v1/license/audit", params={"action": "license-installed"}).json()
    assert audit["items"][0]["actor"] == SUITE_ADMIN_USERNAME
    history = gateway.get("/api/v1/license/history").json()
    assert history["items"][0]["installed_by"] == SUITE_ADMIN_USERNAME


def test_a_forged_key_through_the_gateway_is_a_problem_and_changes_nothing(
    gateway: httpx.Client,
) -> None:
    before = gateway.get("/api/v1/license").json()
    forged = issue_key(
        Ed25519PrivateKey.generate(),
        system_id=before["system_id"],
        users=9999,
        shared_devices=9999,
        softphones=9999,
        days=3650,
        customer="Mallory",
        kid=key_id(VENDOR),
    )
    refused = gateway.put("/api/v1/license", json={"key": forged})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:shareline:problem:license-key-bad-signature"
    after = gateway.get("/api/v1/license").json()
    assert after["license"] == before["license"]
    assert after["pools"] == before["pools"]


def test_internal_routes_are_not_reachable_through_the_gateway(gateway: httpx.Client) -> None:
    response = gateway.post(
        "/internal/v1/reservations",
        json={"pool": "users", "holders": ["ext:100"]},
        headers={"Idempotency-Key": "k"},
    )
    assert response.status_code in (403, 404)
    assert gateway.get("/api/v1/license/allocations").json()["total"] == 0
