"""The web UI over TestClient: pages render, search filters, diffs judge, charts show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from registry.monitoring import Monitor
from tests.monitoring.conftest import breach, observation, publish, report, sla_contract


def test_contract_list_search_and_health(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract("shop.orders"))
    publish(client, sla_contract("shop.payments", team="payments"))
    now = datetime.now(UTC)
    report(
        client,
        "consumer",
        observations=[observation("shop.orders", now, newest=now)],
        breaches=[breach("shop.orders", now, count=4)],
    )
    monitor.run_once(now)
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count('class="contract-row"') == 2
    assert "/ui/static/accord.css" in page.text
    orders = page.text[page.text.index('data-name="shop.orders"') :]
    assert "badge-warning" in orders.split("</tr>")[0]  # breaches, SLA holding
    payments = page.text[page.text.index('data-name="shop.payments"') :]
    assert "badge-no-data" in payments.split("</tr>")[0]
    found = client.get("/ui", params={"q": "PAYMENTS"}).text
    assert 'data-name="shop.payments"' in found and 'data-name="shop.orders"' not in found
    assert "No contracts match" in client.get("/ui", params={"q": "zzz"}).text
    assert client.get("/ui/static/accord.css").status_code == 200


def test_contract_page(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract())
    client.post(
        "/contracts/shop.orders/consumers",
        json={"name": "billing", "team": "finance", "fields": ["amount"]},
    )
    page = client.get("/ui/contracts/shop.orders").text
    for expected in ("Breaches", "SLA", "Fields", "Versions", "Consumers", "billing", "PT10M"):
        assert expected in page, expected
    assert "<svg" in page and 'class="bar"' not in page
    assert "No source has reported" in page
    now = datetime.now(UTC)
    report(
        client,
        "consumer",
        observations=[observation("shop.orders", now, newest=now)],
        breaches=[breach("shop.orders", now, count=7)],
    )
    monitor.run_once(now)
    page = client.get("/ui/contracts/shop.orders").text
    counts = [int(n) for n in re.findall(r'class="bar"[^>]*data-count="(\d+)"', page)]
    assert counts == [7]
    assert 'data-rule="freshness" data-status="ok"' in page
    assert "&#39;id&#39; is a required property" in page  # the latest sample, escaped
    assert client.get("/ui/contracts/nope").status_code == 404
    assert client.get("/ui/contracts/shop.orders", params={"version": 9}).status_code == 404


def test_diff_between_versions(client: TestClient) -> None:
    first = sla_contract()
    publish(client, first)
    second = sla_contract()
    second["description"] = "Changed description."
    second["schema"]["properties"]["amount"]["minimum"] = 0  # narrower: breaks producers
    client.put("/contracts/shop.orders/config", json={"mode": "NONE"})
    publish(client, second)
    client.put("/contracts/shop.orders/config", json={"mode": "BACKWARD"})
    page = client.get("/ui/contracts/shop.orders/diff", params={"from": 1, "to": 2}).text
    assert "Breaking under BACKWARD" in page
    assert 'class="breaking"' in page
    assert "Changed description." in page and 'class="replace"' in page
    default = client.get("/ui/contracts/shop.orders/diff").text  # the last two versions
    assert "v1 → v2" in default
    backwards = client.get("/ui/contracts/shop.orders/diff", params={"from": 2, "to": 1}).text
    assert "v2 → v1" in backwards
    assert client.get("/ui/contracts/shop.orders/diff", params={"to": 7}).status_code == 404


def test_breaches_overview(client: TestClient) -> None:
    publish(client, sla_contract("shop.orders"))
    now = datetime.now(UTC)
    report(
        client,
        "consumer",
        breaches=[
            breach("shop.orders", now, count=2),
            breach("other.topic", now, rule="positive", kind="rule", count=5),
        ],
    )
    page = client.get("/ui/breaches").text
    assert sorted(re.findall(r'data-kind="(\w+)" data-count="(\d+)"', page)) == [
        ("rule", "5"),
        ("schema", "2"),
    ]
    assert page.count('class="breach-row"') == 2
    only = client.get("/ui/breaches", params={"kind": "rule", "range": "7d"}).text
    assert only.count('class="breach-row"') == 1 and "other.topic" in only
