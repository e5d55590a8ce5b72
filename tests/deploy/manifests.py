"""Reading the deployment files the way Compose and kustomize would, for offline tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from gateway.settings import Settings as GatewaySettings
from services.aps.settings import Settings as ApsSettings
from services.extensions.settings import Settings as ExtensionsSettings
from services.licensing.settings import Settings as LicensingSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"

SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "extensions": ExtensionsSettings,
    "licensing": LicensingSettings,
    "aps": ApsSettings,
}
MODULES = {
    "gateway": "gateway",
    "extensions": "services.extensions",
    "licensing": "services.licensing",
    "aps": "services.aps",
}

# Named explicitly because their defaults look harmless but are not meant for a site.
ALWAYS_REQUIRED = frozenset({"mode", "host", "provisioning_user"})
REQUIRED_SUFFIXES = ("_url", "_host", "_dir")
REQUIRED_PREFIXES = ("smtp_",)


def env_name(field: str) -> str:
    return "SHARELINE_" + field.upper()


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in getattr(annotation, "__args__", ()))


def required_settings(settings_class: type[BaseSettings]) -> set[str]:
    """The environment variables a production deployment must set for this service.

    See tests/deploy/test_settings_provided.py for the rule and why.
    """
    required = set()
    for name, field in settings_class.model_fields.items():
        if (
            name in ALWAYS_REQUIRED
            or _is_secret(field.annotation)
            or name.endswith(REQUIRED_SUFFIXES)
            or name.startswith(REQUIRED_PREFIXES)
        ):
            required.add(env_name(name))
    return required


def k8s_resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        resources.extend(d for d in yaml.safe_load_all((K8S / name).read_text()) if d)
    return resources


def k8s_named(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in k8s_resources() if r["kind"] == kind}


def pod_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def k8s_environment(workload: dict[str, Any]) -> dict[str, str]:
    """What a workload's container sees: its envFrom sources, then its own env."""
    maps, secrets = k8s_named("ConfigMap"), k8s_named("Secret")
    (container,) = pod_containers(workload)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            secret = secrets[source["secretRef"]["name"]]
            env.update(secret.get("stringData", {}))
    env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
    return env


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose_variables() -> set[str]:
    return set(m.group(1) for m in _VARIABLE.finditer(COMPOSE.read_text()))


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = variables.get(name, "")
        if current:
            return current
        if op and op.endswith("?"):
            raise KeyError(f"{name} is required: {arg}")
        return arg if op and op.endswith("-") else ""

    return _VARIABLE.sub(replace, value)


def compose_environment(service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    raw = compose()["services"][service].get("environment", {})
    if variables is None:
        return {k: str(v) for k, v in raw.items()}
    return {k: interpolate(str(v), variables) for k, v in raw.items()}


def env_example_keys() -> set[str]:
    keys = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            keys.add(line.partition("=")[0])
    return keys


def yaml_files() -> Iterator[Path]:
    yield COMPOSE
    yield from sorted(K8S.glob("*.yaml"))
