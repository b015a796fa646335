"""Retention: old reports, SLA events and finished deliveries go; totals and status stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from registry.monitoring import Monitor
from registry.monitoring.retention import Pruned, prune
from registry.settings import Settings
from tests.monitoring.conftest import (
    Receiver,
    breach,
    observation,
    publish,
    register,
    report,
    sla_contract,
)
from tests.monitoring.test_metrics import scrape, value

DAY = timedelta(days=1)


def _breaches(client: TestClient, contract: str) -> list[dict[str, Any]]:
    response = client.get("/breaches", params={"contract": contract, "limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_old_reports_and_events_go_and_the_totals_stay(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())  # its SLA looks back 7 days (the shortest horizon)
    hook = register(client, receiver.url, events=["sla.status_changed"])
    now = datetime.now(UTC)
    report(
        client,
        "consumer",
        observations=[observation("shop.orders", now, newest=now), observation("other", now)],
        breaches=[breach("shop.orders", now, count=4), breach("other", now, count=2)],
    )
    monitor.run_once(now)
    monitor.run_once(now + timedelta(hours=1))  # silent since: freshness breached
    delivered = [a for a in monitor.deliver_once() if a.delivered]
    assert delivered
    totals = scrape(client)

    # Two days on, one day kept. The freshness breach goes on, so its report does too.
    later = now + 2 * DAY
    monitor.run_once(later)
    pruned = prune(monitor.db, DAY, later)
    assert (pruned.breaches, pruned.observations) == (2, 1)  # "other" has no SLA
    assert pruned.webhook_deliveries == len(delivered) and pruned.sla_events >= 1
    assert [b["kind"] for b in _breaches(client, "other")] == []
    assert {b["kind"] for b in _breaches(client, "shop.orders")} == {"sla"}
    freshness = [b for b in _breaches(client, "shop.orders") if b["rule"] == "freshness"]
    assert len(freshness) == 1
    sla = client.get("/contracts/shop.orders/sla").json()
    assert sla["history"]
    assert all(datetime.fromisoformat(e["at"]) >= later - DAY for e in sla["history"])
    assert sla["status"] == "breached"
    assert {(c["rule"], c["status"]) for c in sla["checks"]} >= {("freshness", "breached")}
    deliveries = client.get(f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert all(d["state"] == "pending" for d in deliveries)
    # The counters /metrics exports are running totals: pruning takes nothing from them.
    after = scrape(client)
    for labels in (
        {"contract": "shop.orders", "version": "1", "kind": "schema", "rule": "required"},
        {"contract": "shop.orders", "version": "1", "kind": "sla", "rule": "freshness"},
    ):
        assert (
            value(after, "accord_breaches_total", **labels)
            == value(totals, "accord_breaches_total", **labels)
            > 0
        )
    records = {"contract": "shop.orders", "source": "consumer", "result": "valid"}
    assert value(after, "accord_records_validated_total", **records) == 10

    # Past the SLA's 7 days its observations go too; once gone, nothing is left to prune.
    much_later = now + 9 * DAY
    assert prune(monitor.db, DAY, much_later).observations == 1
    assert prune(monitor.db, DAY, much_later) == Pruned()


def test_one_prune_an_hour_across_processes_and_none_at_0_days(
    client: TestClient, settings: Settings, monitor: Monitor
) -> None:
    now = datetime.now(UTC)
    report(client, "consumer", breaches=[breach("other", now)])
    keeps_all = Monitor(monitor.db, replace(settings, retention_days=0))
    assert keeps_all.retain(now + 400 * DAY) is None
    assert keeps_all.prune(now + 400 * DAY) == Pruned()
    one, other = (Monitor(monitor.db, replace(settings, retention_days=1)) for _ in range(2))
    first = one.retain(now + 2 * DAY)
    assert first is not None and first.breaches == 1
    report(client, "consumer", breaches=[breach("other", now)])
    # Within the hour neither process prunes, the one that did included.
    assert one.retain(now + 2 * DAY + timedelta(minutes=59)) is None
    assert other.retain(now + 2 * DAY + timedelta(minutes=59)) is None
    second = other.retain(now + 2 * DAY + timedelta(minutes=61))
    assert second is not None and second.breaches == 1
    assert one.retain(now + 2 * DAY + timedelta(minutes=62)) is None


def test_a_resent_report_whose_first_copy_was_pruned_is_stored_again(
    client: TestClient, monitor: Monitor
) -> None:
    now = datetime.now(UTC)
    batch = [breach("other", now, count=3)]
    assert report(client, "consumer", breaches=batch)["accepted"] == 1
    prune(monitor.db, DAY, now + 2 * DAY)
    assert report(client, "consumer", breaches=batch)["accepted"] == 1  # as the README says
