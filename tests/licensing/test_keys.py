"""License keys: the trial, installing a key, and every forged or unfit key refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.licensing.vendor_cli import issue_key
from tests.licensing.conftest import START, Licensing, Vendor, headers

PROBLEM = "urn:shareline:problem:"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(key: str) -> dict:
    return json.loads(unb64(key.split(".")[1]))


async def test_fresh_install_runs_on_a_labelled_trial(licensing: Licensing) -> None:
    status = await licensing.status()
    assert status["system_id"].startswith("SL-")
    assert status["license"]["trial"] is True
    assert status["license"]["expires_at"] == (START + timedelta(days=30)).isoformat()
    assert status["pools"]["users"] == {
        "licensed": 10,
        "capacity": 10,
        "used": 0,
        "free": 10,
        "over_limit": False,
    }
    # each softphone license adds a shared-device unit
    assert status["pools"]["shared_devices"]["capacity"] == 5 + 2
    assert "trial" in [w["code"] for w in status["warnings"]]
    assert status["allocations_allowed"] is True


async def test_system_id_is_kept_across_restarts(lifespan_client, make_settings) -> None:
    from services.licensing.app import create_app

    settings = make_settings()
    ids = []
    for _ in range(2):
        client = await lifespan_client(create_app(settings))
        ids.append((await client.get("/api/v1/license", headers=headers())).json()["system_id"])
    assert ids[0] == ids[1]


async def test_installing_a_key_sets_pools_and_is_kept_in_history(
    licensing: Licensing, vendor: Vendor
) -> None:
    system_id = (await licensing.status())["system_id"]
    key = vendor.key(system_id, users=50, shared_devices=20, softphones=5)
    response = await licensing.install(key, user="bob")
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["license"]["trial"] is False
    assert status["license"]["customer"] == "Example GmbH"
    assert status["license"]["kid"] == vendor.kid
    assert status["license"]["license_id"] == claims_of(key)["lid"]
    assert status["pools"]["users"]["capacity"] == 50
    assert status["pools"]["shared_devices"]["capacity"] == 25
    assert status["pools"]["softphones"]["capacity"] == 5
    assert "trial" not in [w["code"] for w in status["warnings"]]
    second = vendor.key(system_id, users=60)
    assert (await licensing.install(second)).status_code == 200
    history = (await licensing.client.get("/api/v1/license/history", headers=headers())).json()
    assert history["total"] == 2
    assert [e["users"] for e in history["items"]] == [60, 50]
    assert history["items"][1]["installed_by"] == "bob"
    audit = (
        await licensing.client.get(
            "/api/v1/license/audit", params={"action": "license-installed"}, headers=headers()
        )
    ).json()
    assert [e["actor"] for e in audit["items"]] == ["alice", "bob"]


def _flip_signature_bit(key: str) -> str:
    header, payload, signature = key.split(".")
    raw = bytearray(unb64(signature))
    raw[10] ^= 0x01
    return f"{header}.{payload}.{b64(bytes(raw))}"


def _flip_payload_bit(key: str) -> str:
    header, payload, signature = key.split(".")
    raw = unb64(payload)
    assert b'"users":50' in raw
    tampered = raw.replace(b'"users":50', b'"users":51')  # '0' → '1' is one bit
    return f"{header}.{b64(tampered)}.{signature}"


def _unsigned(key: str, vendor: Vendor) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": vendor.kid}).encode())
    return f"{header}.{key.split('.')[1]}."


def _hs256_with_public_key(key: str, vendor: Vendor) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": vendor.kid}).encode())
    payload = key.split(".")[1]
    mac = hmac.new(vendor.public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(mac.digest())}"


BAD_KEYS = {
    "signature bit flipped": (
        "license-key-bad-signature",
        lambda v, s: _flip_signature_bit(v.key(s)),
    ),
    "payload bit flipped": ("license-key-bad-signature", lambda v, s: _flip_payload_bit(v.key(s))),
    "unknown kid": (
        "license-key-unknown-kid",
        lambda v, s: Vendor(Ed25519PrivateKey.generate()).key(s),
    ),
    "kid of a trusted key, signed by another": (
        "license-key-bad-signature",
        lambda v, s: issue_key(
            Ed25519PrivateKey.generate(),
            system_id=s,
            users=1,
            shared_devices=1,
            softphones=1,
            days=30,
            customer="x",
            kid=v.kid,
            now=int(START.timestamp()),
        ),
    ),
    "other system id": ("license-key-wrong-system", lambda v, s: v.key("SL-AAAA-BBBB-CCCC-DDDD")),
    "expired": (
        "license-key-expired",
        lambda v, s: v.key(s, now=START - timedelta(days=40), days=30),
    ),
    "not yet valid": (
        "license-key-not-yet-valid",
        lambda v, s: v.key(s, now=START + timedelta(days=2)),
    ),
    "alg none": ("license-key-algorithm", lambda v, s: _unsigned(v.key(s), v)),
    "HS256 signed with the public key": (
        "license-key-algorithm",
        lambda v, s: _hs256_with_public_key(v.key(s), v),
    ),
    "issuer that extends the trusted one": (
        "license-key-wrong-issuer",
        lambda v, s: v.key(s, issuer="shareline-license-vendor.evil"),
    ),
    "issuer that is a prefix of the trusted one": (
        "license-key-wrong-issuer",
        lambda v, s: v.key(s, issuer="shareline-license"),
    ),
    "not a JWS": ("license-key-malformed", lambda v, s: "this is not a license key"),
    "negative pool": ("license-key-invalid", lambda v, s: v.key(s, users=-1)),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
async def test_bad_key_is_refused_and_the_old_key_stays(
    licensing: Licensing, vendor: Vendor, case: str
) -> None:
    system_id = (await licensing.status())["system_id"]
    good = vendor.key(system_id, users=40)
    assert (await licensing.install(good)).status_code == 200
    slug, make_bad = BAD_KEYS[case]
    response = await licensing.install(make_bad(vendor, system_id))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + slug
    status = await licensing.status()
    assert status["license"]["license_id"] == claims_of(good)["lid"]
    assert status["pools"]["users"]["capacity"] == 40
    history = (await licensing.client.get("/api/v1/license/history", headers=headers())).json()
    assert history["total"] == 1


async def test_refused_key_on_the_trial_leaves_the_trial(
    licensing: Licensing, vendor: Vendor
) -> None:
    response = await licensing.install(vendor.key("SL-AAAA-BBBB-CCCC-DDDD"))
    assert response.status_code == 422
    assert "SL-AAAA-BBBB-CCCC-DDDD" not in response.json().get("system_id", "")
    assert (await licensing.status())["license"]["trial"] is True


async def test_public_keys_can_come_from_a_file(
    lifespan_client, make_settings, vendor: Vendor, tmp_path
) -> None:
    from services.licensing.app import create_app

    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({vendor.kid: vendor.public_pem}))
    app = create_app(make_settings(license_public_keys={}, license_public_keys_file=path))
    app.state.clock = lambda: START
    client = await lifespan_client(app)
    system_id = (await client.get("/api/v1/license", headers=headers())).json()["system_id"]
    key = vendor.key(system_id)
    response = await client.put("/api/v1/license", json={"key": key}, headers=headers())
    assert response.status_code == 200, response.text


async def test_license_routes_need_a_service_token(licensing: Licensing) -> None:
    response = await licensing.client.get("/api/v1/license")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_examples_and_every_refusal(licensing: Licensing) -> None:
    response = await licensing.client.get("/openapi.json", headers=headers())
    paths = response.json()["paths"]
    put = paths["/api/v1/license"]["put"]
    refusals = put["responses"]["422"]["content"]["application/problem+json"]["examples"]
    assert {name for name in refusals if name.startswith("license-key-")} == {
        slug for slug, _ in BAD_KEYS.values()
    }
    reserve = paths["/internal/v1/reservations"]["post"]["responses"]["409"]
    exhausted = reserve["content"]["application/problem+json"]["examples"]["pool-exhausted"]
    assert {"pool", "capacity", "used", "requested"} <= set(exhausted["value"])
    schemas = response.json()["components"]["schemas"]
    assert schemas["LicenseStatus"]["examples"][0]["system_id"].startswith("SL-")
    for path, item in paths.items():
        if not path.startswith(("/api/", "/internal/")):
            continue
        for operation in item.values():
            problem_statuses = [
                status
                for status, answer in operation["responses"].items()
                if "application/problem+json" in answer.get("content", {})
            ]
            assert problem_statuses, f"{path} documents no problem response"


@pytest.mark.parametrize("pem", ["not a pem", "rsa"])
def test_a_bad_trust_list_stops_the_service_with_a_clear_error(pem: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from services.licensing.keys.verify import load_trusted_keys

    if pem == "rsa":
        pem = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    with pytest.raises(ValueError, match="trusted license key 'k1'"):
        load_trusted_keys({"k1": pem})
