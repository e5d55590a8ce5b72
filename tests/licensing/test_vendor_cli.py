"""The vendor CLI: a key pair, a key issued with it, and that key installed in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.common.service_tokens import issue
from services.licensing.vendor_cli import main
from tests.support.suite import REPO, free_port

SECRET = "licensing-cli-secret-0123456789abcdef01234"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.licensing.vendor_cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def public_key_of(keygen_output: str) -> tuple[str, str]:
    lines = keygen_output.splitlines()
    kid = lines[0].removeprefix("kid: ")
    pem = "\n".join(lines[1 : lines.index("-----END PUBLIC KEY-----") + 1]) + "\n"
    return kid, pem


def test_keygen_writes_a_private_key_and_prints_kid_and_public_key(tmp_path: Path, capsys) -> None:
    out = tmp_path / "vendor.pem"
    assert main(["keygen", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    kid, pem = public_key_of(printed)
    assert len(kid) == 16
    load_pem_public_key(pem.encode())
    assert out.stat().st_mode & 0o077 == 0  # only the vendor may read it
    assert "PRIVATE" not in printed
    env_line = next(line for line in printed.splitlines() if line.startswith("SHARELINE_"))
    assert json.loads(env_line.split("=", 1)[1]) == {kid: pem}
    assert main(["keygen", "--out", str(out)]) == 1  # never overwrites by accident


def test_issue_prints_a_signed_key_with_the_requested_pools(tmp_path: Path, capsys) -> None:
    out = tmp_path / "vendor.pem"
    main(["keygen", "--out", str(out)])
    kid, pem = public_key_of(capsys.readouterr().out)
    assert (
        main(
            [
                "issue",
                "--system-id",
                "SL-AAAA-BBBB-CCCC-DDDD",
                "--users",
                "50",
                "--shared-devices",
                "20",
                "--softphones",
                "5",
                "--days",
                "365",
                "--key",
                str(out),
                "--customer",
                "Example GmbH",
            ]
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    assert jwt.get_unverified_header(key) == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    claims = jwt.decode(key, load_pem_public_key(pem.encode()), algorithms=["EdDSA"])  # type: ignore[arg-type]
    assert claims["sub"] == "SL-AAAA-BBBB-CCCC-DDDD"
    assert (claims["users"], claims["shared_devices"], claims["softphones"]) == (50, 20, 5)
    assert claims["exp"] - claims["iat"] == 365 * 86400
    assert claims["customer"] == "Example GmbH"
    assert claims["lid"]


def test_issue_refuses_negative_units(tmp_path: Path) -> None:
    result = cli(
        "issue",
        "--system-id",
        "x",
        "--users",
        "-1",
        "--shared-devices",
        "0",
        "--softphones",
        "0",
        "--days",
        "1",
        "--key",
        str(tmp_path / "none.pem"),
    )
    assert result.returncode == 2
    assert "must be 0 or more" in result.stderr


@pytest.mark.e2e
def test_vendor_issues_a_key_the_running_service_installs(tmp_path: Path) -> None:
    keygen = cli("keygen", "--out", str(tmp_path / "vendor.pem"))
    assert keygen.returncode == 0, keygen.stderr
    kid, pem = public_key_of(keygen.stdout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELINE_")}
    env.update(
        {
            "SHARELINE_DATA_DIR": str(tmp_path),
            "SHARELINE_SERVICE_TOKEN_SECRET": SECRET,
            "SHARELINE_LICENSE_PUBLIC_KEYS": json.dumps({kid: pem}),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.licensing", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        token = {"X-Service-Token": issue(SECRET, issuer="gateway", audience="licensing")}
        status = _wait_for_status(base, token, proc)
        assert status["license"]["trial"] is True
        issued = cli(
            "issue",
            "--system-id",
            status["system_id"],
            "--users",
            "50",
            "--shared-devices",
            "20",
            "--softphones",
            "5",
            "--days",
            "365",
            "--key",
            str(tmp_path / "vendor.pem"),
            "--customer",
            "Example GmbH",
        )
        assert issued.returncode == 0, issued.stderr
        installed = httpx.put(
            base + "/api/v1/license", json={"key": issued.stdout.strip()}, headers=token
        )
        assert installed.status_code == 200, installed.text
        assert installed.json()["license"]["trial"] is False
        assert installed.json()["pools"]["shared_devices"]["capacity"] == 25
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_status(base: str, token: dict[str, str], proc: subprocess.Popen[bytes]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "licensing exited"
        try:
            response = httpx.get(base + "/api/v1/license", headers=token, timeout=1)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("licensing did not start")
