"""Every setting a service reads that has no safe production default is provided.

The rule, applied to each service's `Settings` class (its fields are what it reads):
a field must be set explicitly by the deployment, for every process that reads it, when

- it is `mode` (the default is `local`: no authentication on the phone path, schema
  created on the fly) or `provisioning_user` (the site-wide phone credential's name);
- it is a secret (`SecretStr`): defaults are public placeholders or empty;
- its name ends in `_url`: defaults point at 127.0.0.1 or at SQLite files inside the
  container (database URLs, the other services' URLs, the public base URL);
- it is `host` or ends in `_host`: defaults are loopback (bind address, SIP host, AMI);
- its name ends in `_dir`: defaults are relative folders of a developer's checkout;
- its name starts with `smtp_`: mail to end users must name a real relay.

"Provided" means present in the process's environment: for Kubernetes the ConfigMap and
Secrets its Deployment loads (`envFrom`) plus its `env`; for Compose its `environment`.
A value may be deliberately empty (AMI off), but it must be there, so an operator sees it.
"""

from __future__ import annotations

import os
import secrets

import pytest
from pydantic import ValidationError

from tests.deploy.manifests import (
    SETTINGS,
    compose_environment,
    env_example_keys,
    k8s_environment,
    k8s_named,
    required_settings,
)

PLACEHOLDER = "REPLACE-ME"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_kubernetes_provides_every_required_setting(service) -> None:
    env = k8s_environment(k8s_named("Deployment")[f"shareline-{service}"])
    missing = required_settings(SETTINGS[service]) - set(env)
    assert not missing, f"add {sorted(missing)} to deploy/k8s (configmap.yaml or secrets.yaml)"
    assert env["SHARELINE_MODE"] == "production"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_provides_every_required_setting(service) -> None:
    env = compose_environment(service)
    missing = required_settings(SETTINGS[service]) - set(env)
    assert not missing, f"add {sorted(missing)} to the {service} service in deploy/compose.yaml"


def test_the_rule_catches_what_it_promises() -> None:
    gateway = required_settings(SETTINGS["gateway"])
    aps = required_settings(SETTINGS["aps"])
    for name in (
        "SHARELINE_MODE",
        "SHARELINE_GATEWAY_DATABASE_URL",
        "SHARELINE_SERVICE_TOKEN_SECRET",
        "SHARELINE_ADMIN_TOKEN_SECRET",
        "SHARELINE_ADMIN_PASSWORD",
        "SHARELINE_EXTENSIONS_URL",
        "SHARELINE_LICENSING_URL",
        "SHARELINE_APS_URL",
        "SHARELINE_PUBLIC_BASE_URL",
        "SHARELINE_HOST",
    ):
        assert name in gateway
    assert {"SHARELINE_PROVISIONING_USER", "SHARELINE_PROVISIONING_PASSWORD"} <= aps
    assert "SHARELINE_SIP_HOST" in required_settings(SETTINGS["extensions"])


def _load(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> object:
    for key in [k for k in os.environ if k.startswith("SHARELINE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return SETTINGS[service]()


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_kubernetes_values_load_once_the_placeholders_are_replaced(service, monkeypatch) -> None:
    env = k8s_environment(k8s_named("Deployment")[f"shareline-{service}"])
    filled = {k: v.replace(PLACEHOLDER, secrets.token_urlsafe(36)) for k, v in env.items()}
    settings = _load(service, filled, monkeypatch)
    assert settings.mode == "production"  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_kubernetes_placeholders_refuse_to_start(service, monkeypatch) -> None:
    env = k8s_environment(k8s_named("Deployment")[f"shareline-{service}"])
    assert PLACEHOLDER in env["SHARELINE_SERVICE_TOKEN_SECRET"]
    with pytest.raises(ValidationError):
        _load(service, env, monkeypatch)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_values_load_from_a_filled_env_file(service, monkeypatch) -> None:
    variables = {key: secrets.token_urlsafe(36) for key in env_example_keys()}
    variables.update(
        SHARELINE_PUBLIC_BASE_URL="https://pbx.example.com",
        SHARELINE_SIP_HOST="pbx.example.com",
        SHARELINE_AMI_HOST="",
        SHARELINE_TRUSTED_PROXIES="[]",
    )
    env = compose_environment(service, variables)
    settings = _load(service, env, monkeypatch)
    assert settings.mode == "production"  # type: ignore[attr-defined]
    assert settings.database_url.startswith(f"postgresql://{service}:")  # type: ignore[attr-defined]


def test_compose_refuses_to_start_without_the_env_file() -> None:
    with pytest.raises(KeyError, match="SHARELINE_SERVICE_TOKEN_SECRET"):
        compose_environment("licensing", {})
