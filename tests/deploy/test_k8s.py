"""The kustomize base, checked offline: schema, probes, replicas, budgets, the one door."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.manifests import (
    DEPLOY,
    K8S,
    MODULES,
    SETTINGS,
    k8s_environment,
    k8s_named,
    k8s_resources,
    pod_containers,
    yaml_files,
)

KUBERNETES_VERSION = "1.30"
MEMORY = re.compile(r"^(\d+)(Mi|Gi)$")


def _mebibytes(quantity: str) -> int:
    match = MEMORY.match(quantity)
    assert match, f"memory quantity {quantity!r} should be in Mi or Gi"
    return int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


@pytest.mark.parametrize("path", list(yaml_files()), ids=lambda p: p.name)
def test_yaml_files_pass_yamllint(path) -> None:
    config = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    problems = [str(p) for p in linter.run(path.read_text(), config, str(path))]
    assert problems == []


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


@pytest.mark.parametrize(
    "resource", k8s_resources(), ids=lambda r: f"{r['kind']}/{r['metadata']['name']}"
)
def test_every_resource_matches_the_kubernetes_schema(resource) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_a_schema_violation_is_caught() -> None:
    (deployment, *_rest) = k8s_named("Deployment").values()
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("service", sorted(MODULES))
def test_each_service_runs_replicated_probed_and_bounded(service) -> None:
    deployment = k8s_named("Deployment")[f"shareline-{service}"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    # Service links would put SHARELINE_<NAME>_PORT=tcp://... into the environment.
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod_containers(deployment)
    assert container["command"][:3] == ["python", "-m", MODULES[service]]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert _mebibytes(container["resources"]["requests"]["memory"]) <= 128
    assert _mebibytes(container["resources"]["limits"]["memory"]) <= 256
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("service", sorted(MODULES))
def test_each_service_has_a_service_and_a_disruption_budget(service) -> None:
    labels = k8s_named("Deployment")[f"shareline-{service}"]["spec"]["template"]["metadata"][
        "labels"
    ]
    svc = k8s_named("Service")[f"shareline-{service}"]
    assert svc["spec"]["selector"].items() <= labels.items()
    budget = k8s_named("PodDisruptionBudget")[f"shareline-{service}"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] >= 1


def _routes(path: str) -> bool:
    """Whether the Ingress sends a request for `path` anywhere."""
    for rule in k8s_named("Ingress")["shareline"]["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            prefix = entry["path"].rstrip("/")
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            if entry["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def test_ingress_sends_the_api_docs_and_phone_path_to_the_gateway_only() -> None:
    ingress = k8s_named("Ingress")["shareline"]
    backends = {
        entry["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for entry in rule["http"]["paths"]
    }
    assert backends == {"shareline-gateway"}
    for path in ("/api/v1/extensions", "/provision/001565aabbcc.cfg", "/docs", "/openapi.json"):
        assert _routes(path), path
    for path in ("/metrics", "/healthz", "/readyz", "/internal/v1/reservations", "/"):
        assert not _routes(path), path
    assert ingress["spec"]["tls"], "the phone path carries SIP passwords: terminate TLS"


def test_migration_job_upgrades_every_database() -> None:
    job = k8s_named("Job")["shareline-migrate"]
    (container,) = pod_containers(job)
    assert container["command"] == ["python", "-m", "deploy.migrate", "upgrade"]
    env = k8s_environment(job)
    for service in SETTINGS:
        assert f"SHARELINE_{service.upper()}_DATABASE_URL" in env
    assert env["SHARELINE_MODE"] == "production"


def test_config_map_runs_production_and_names_services_by_their_k8s_names() -> None:
    config = k8s_named("ConfigMap")["shareline-config"]["data"]
    assert config["SHARELINE_MODE"] == "production"
    services = k8s_named("Service")
    for name in ("extensions", "licensing", "aps"):
        url = config[f"SHARELINE_{name.upper()}_URL"]
        port = services[f"shareline-{name}"]["spec"]["ports"][0]["port"]
        assert url == f"http://shareline-{name}:{port}"
