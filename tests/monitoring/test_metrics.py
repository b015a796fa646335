"""``/metrics``: Prometheus text computed from the database and counted per process."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from registry.monitoring import Monitor
from tests.conftest import REPO
from tests.monitoring.conftest import breach, observation, publish, report, sla_contract
from tests.processes import running_registry


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_breaches_records_and_sla_from_the_database(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    now = datetime.now(UTC)
    report(
        client,
        "consumer-a",
        observations=[observation("shop.orders", now, records=10, invalid=3, newest=now)],
        breaches=[breach("shop.orders", now, count=3)],
    )
    monitor.run_once(now)
    text = scrape(client)
    labels = {"contract": "shop.orders", "version": "1", "kind": "schema", "rule": "required"}
    assert value(text, "accord_breaches_total", **labels) == 3
    records = {"contract": "shop.orders", "source": "consumer-a"}
    assert value(text, "accord_records_validated_total", **records, result="valid") == 7
    assert value(text, "accord_records_validated_total", **records, result="invalid") == 3
    assert value(text, "accord_sla_status", contract="shop.orders") == 1
    check = {"contract": "shop.orders", "source": "consumer-a", "rule": "freshness"}
    assert value(text, "accord_sla_breached", **check) == 0
    assert value(text, "accord_breach_episodes_open", contract="shop.orders") == 1
    assert value(text, "accord_contracts") == 1
    assert value(text, "accord_metrics_database_up") == 1

    monitor.run_once(now + timedelta(hours=1))  # silent: freshness breached
    text = scrape(client)
    assert value(text, "accord_sla_status", contract="shop.orders") == 0
    assert value(text, "accord_sla_breached", **check) == 1
    assert value(text, "accord_sla_measured", **check) == pytest.approx(3600, abs=5)
    sla_labels = labels | {"kind": "sla", "rule": "freshness"}
    assert value(text, "accord_breaches_total", **sla_labels) == 1


def test_counters_count_each_report_once(client: TestClient) -> None:
    now = datetime.now(UTC)
    seen = observation("shop.orders", now, records=10, invalid=3)
    failed, unversioned = breach("shop.orders", now, count=3), breach("shop.orders", now, count=4)
    unversioned["version"] = None  # a local contract file names no version
    for _ in range(2):  # resent: stored, and counted, once
        report(client, "consumer-a", observations=[seen], breaches=[failed, unversioned])
    report(client, "consumer-b", breaches=[breach("shop.orders", now, count=2)])  # summed
    text = scrape(client)
    labels = {"contract": "shop.orders", "kind": "schema", "rule": "required"}
    assert value(text, "accord_breaches_total", **labels, version="1") == 5
    assert value(text, "accord_breaches_total", **labels, version="") == 4
    records = {"contract": "shop.orders", "source": "consumer-a"}
    assert value(text, "accord_records_validated_total", **records, result="valid") == 7
    assert value(text, "accord_records_validated_total", **records, result="invalid") == 3


def test_publishes_checks_and_requests_are_counted(client: TestClient) -> None:
    before = scrape(client)
    doc = sla_contract()
    publish(client, doc)
    publish(client, doc)  # identical: existing
    breaking = sla_contract(extra_required=("note",))
    assert client.post("/contracts/shop.orders/versions", json=breaking).status_code == 409
    assert client.post("/contracts/shop.orders/compatibility", json=doc).status_code == 200
    assert client.post("/contracts/shop.orders/compatibility", json=breaking).status_code == 200
    assert client.get("/contracts/shop.orders/versions/latest").status_code == 200
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("accord_publishes_total", result="created") == 1
    assert delta("accord_publishes_total", result="existing") == 1
    assert delta("accord_publishes_total", result="refused") == 1
    assert delta("accord_publish_duration_seconds_count") == 3
    assert delta("accord_compatibility_checks_total", result="compatible") == 1
    assert delta("accord_compatibility_checks_total", result="incompatible") == 1
    assert delta("accord_compatibility_check_duration_seconds_count") == 2
    route = "/contracts/{name}/versions/{version}"
    assert delta("accord_http_requests_total", method="GET", route=route, status="200") == 1
    assert delta("accord_http_request_duration_seconds_count", method="GET", route=route) == 1
    client.get("/no/such/route")
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(scrape(client), "accord_http_requests_total", **unmatched) >= 1


@pytest.mark.slow
def test_counts_are_summed_over_worker_processes(tmp_path: Path) -> None:
    """`accord serve --workers 2`: whichever worker answers a scrape, it counts them all."""
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    with running_registry(database, tmp_path, workers=2) as url:
        for index in range(6):
            doc = sla_contract(f"multi.events{index}")
            response = httpx.post(f"{url}/contracts/{doc['name']}/versions", json=doc)
            assert response.status_code == 201
        for _ in range(4):  # several scrapes, likely answered by both workers
            text = httpx.get(f"{url}/metrics").text
            assert value(text, "accord_publishes_total", result="created") == 6
            assert value(text, "accord_contracts") == 6


def test_the_grafana_dashboard_uses_metrics_the_registry_exposes(client: TestClient) -> None:
    dashboard = json.loads((REPO / "registry" / "dashboards" / "accord-grafana.json").read_text())
    exposed = {family.name for family in text_string_to_metric_families(scrape(client))}
    exposed |= {"accord_publishes", "accord_compatibility_checks"}  # labelled: absent until used
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"accord_[a-z_]+", target["expr"])
    }
    assert used and used <= exposed, used - exposed
    assert "accord-grafana.json" in (REPO / "README.md").read_text()
