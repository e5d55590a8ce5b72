"""Prometheus metrics: per-app registries, route templates as labels, /metrics everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app as create_gateway
from gateway.settings import Settings as GatewaySettings
from services.aps.app import create_app as create_aps
from services.aps.settings import Settings as ApsSettings
from services.common.app_factory import build_app
from services.common.errors import NotFound
from services.common.metrics import metrics_for
from services.common.settings import CommonSettings
from services.extensions.app import create_app as create_extensions
from services.extensions.settings import Settings as ExtensionsSettings
from services.licensing.app import create_app as create_licensing
from services.licensing.settings import Settings as LicensingSettings
from tests.support.databases import make_database_url


@asynccontextmanager
async def _no_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


def _small_app() -> FastAPI:
    app = build_app(
        name="sample",
        title="sample",
        description="sample",
        settings=CommonSettings(),
        lifespan=_no_lifespan,
        readiness={},
    )

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise NotFound("no such item")
        return {"id": item_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    return app


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


async def test_requests_are_counted_by_route_template_not_raw_path(lifespan_client) -> None:
    client = await lifespan_client(_small_app())
    for item_id in ("1", "2", "aabbccddeeff", "missing"):
        await client.get(f"/items/{item_id}")

    text = (await client.get("/metrics")).text
    counts = _samples(text, "shareline_http_requests_total")
    assert counts[_labels(method="GET", route="/items/{item_id}", status="200")] == 3
    assert counts[_labels(method="GET", route="/items/{item_id}", status="404")] == 1
    assert "aabbccddeeff" not in text
    timed = _samples(text, "shareline_http_request_duration_seconds_count")
    assert timed[_labels(method="GET", route="/items/{item_id}")] == 4


async def test_unmatched_paths_share_one_label(lifespan_client) -> None:
    client = await lifespan_client(_small_app())
    for n in range(20):
        assert (await client.get(f"/provision/scan-{n:04d}.cfg")).status_code == 404

    text = (await client.get("/metrics")).text
    counts = _samples(text, "shareline_http_requests_total")
    assert counts[_labels(method="GET", route="<unmatched>", status="404")] == 20
    assert "scan-0001" not in text


async def test_unhandled_errors_count_as_500() -> None:
    transport = httpx.ASGITransport(app=_small_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/boom")).status_code == 500
        text = (await client.get("/metrics")).text
    counts = _samples(text, "shareline_http_requests_total")
    assert counts[_labels(method="GET", route="/boom", status="500")] == 1


async def test_each_app_has_its_own_registry(lifespan_client) -> None:
    first, second = _small_app(), _small_app()
    metrics_for(first).allocations.labels(pool="users", outcome="granted").inc(3)

    first_text = (await (await lifespan_client(first)).get("/metrics")).text
    second_text = (await (await lifespan_client(second)).get("/metrics")).text
    assert _samples(first_text, "shareline_allocations_total") == {
        _labels(pool="users", outcome="granted"): 3
    }
    assert _samples(second_text, "shareline_allocations_total") == {}


async def test_domain_metrics_are_exposed_with_their_labels(lifespan_client) -> None:
    app = _small_app()
    metrics = metrics_for(app)
    metrics.provision_fetches.labels(vendor="yealink", outcome="served").inc()
    metrics.commit_seconds.labels(kind="telephony").observe(0.2)
    metrics.render_seconds.observe(0.03)

    text = (await (await lifespan_client(app)).get("/metrics")).text
    assert _samples(text, "shareline_provision_fetches_total") == {
        _labels(vendor="yealink", outcome="served"): 1
    }
    assert _samples(text, "shareline_commit_duration_seconds_count") == {
        _labels(kind="telephony"): 1
    }
    assert _samples(text, "shareline_render_duration_seconds_count") == {(): 1}


@pytest.mark.parametrize("service", ["extensions", "licensing", "aps", "gateway"])
async def test_every_service_serves_metrics_without_a_token(
    lifespan_client, tmp_path, service
) -> None:
    url = make_database_url(tmp_path, service)
    app = {
        "extensions": lambda: create_extensions(
            ExtensionsSettings(data_dir=tmp_path, extensions_database_url=url)
        ),
        "licensing": lambda: create_licensing(
            LicensingSettings(data_dir=tmp_path, licensing_database_url=url)
        ),
        "aps": lambda: create_aps(ApsSettings(data_dir=tmp_path, aps_database_url=url)),
        "gateway": lambda: create_gateway(
            GatewaySettings(data_dir=tmp_path, gateway_database_url=url)
        ),
    }[service]()
    client = await lifespan_client(app)
    await client.get("/healthz")

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = _samples(response.text, "shareline_http_requests_total")
    assert counts[_labels(method="GET", route="/healthz", status="200")] == 1
    assert "/metrics" not in app.openapi().get("paths", {})


@pytest.mark.e2e
def test_real_processes_count_forwarded_requests_by_template(suite) -> None:
    with suite.admin_client() as admin:
        for number in ("4711", "4712"):
            assert admin.get(f"/api/v1/extensions/{number}").status_code == 404

    gateway = httpx.get(suite.gateway + "/metrics", timeout=10)
    assert gateway.status_code == 200
    proxied = _samples(gateway.text, "shareline_http_requests_total")
    assert proxied[_labels(method="GET", route="/api/v1/{rest}", status="404")] >= 2

    service = httpx.get(suite.url("extensions") + "/metrics", timeout=10)
    assert service.status_code == 200
    counts = _samples(service.text, "shareline_http_requests_total")
    assert counts[_labels(method="GET", route="/api/v1/extensions/{number}", status="404")] >= 2
    # The number must not become a label (unbounded cardinality); digits
    # inside sample values or timestamps are fine, so look only at labels.
    label_values = {
        value
        for family in text_string_to_metric_families(service.text)
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert "/api/v1/extensions/{number}" in label_values
    assert not [value for value in label_values if "4711" in value or "4712" in value]
