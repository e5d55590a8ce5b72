"""docs/operations.md documents every setting, and the deployment files set only real ones."""

from __future__ import annotations

from pathlib import Path

from deploy.settings_table import render, replace_table, rows
from tests.deploy.manifests import compose, k8s_named

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
# Read by deploy/healthcheck.py, not by a service.
NOT_SETTINGS = {"SHARELINE_HEALTH_PORT"}


def test_settings_table_is_up_to_date() -> None:
    document = DOC.read_text()
    assert replace_table(document, render()) == document, "run `make settings-doc`"


def test_every_setting_has_a_meaning() -> None:
    unexplained = [row.name for row in rows() if not row.meaning.strip()]
    assert unexplained == [], (
        "give these settings a Field(description=...) or a comment right above them "
        f"in their Settings class: {unexplained}"
    )


def _known() -> set[str]:
    return {"SHARELINE_" + row.name.upper() for row in rows()} | NOT_SETTINGS


def test_kubernetes_sets_only_settings_that_exist() -> None:
    names = set(k8s_named("ConfigMap")["shareline-config"]["data"])
    for secret in k8s_named("Secret").values():
        names |= set(secret["stringData"])
    assert names - _known() == set()


def test_compose_sets_only_settings_that_exist() -> None:
    names = {
        key
        for service in compose()["services"].values()
        for key in service.get("environment", {})
        if key.startswith("SHARELINE_")
    }
    assert names - _known() == set()
