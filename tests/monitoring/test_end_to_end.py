"""A real registry process, a real enforcer reporter, a real webhook receiver: the
enforcer stops reporting, and the freshness breach is raised, shown in the metrics and
announced to the webhook once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcers.registry_client import RegistryClient
from enforcers.reporting import BreachReporter
from registry.monitoring.webhooks import verify
from tests.monitoring.conftest import Receiver, sla_contract
from tests.monitoring.test_metrics import value
from tests.processes import running_registry

SECRET = "end-to-end-secret-123"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_silent_enforcer_trips_freshness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv("ACCORD_SLA_INTERVAL", "0.3")
    monkeypatch.setenv("ACCORD_WEBHOOK_INTERVAL", "0.2")
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    doc = sla_contract("live.orders", max_delay="PT2S", minimum=None, max_breach_rate=None)
    with running_registry(database, tmp_path) as url, RegistryClient(url) as client:
        client.publish(doc)
        hook = httpx.post(
            f"{url}/webhooks",
            json={
                "url": receiver.url,
                "contract": "live.orders",
                "events": ["sla.status_changed"],
                "secret": SECRET,
            },
        )
        assert hook.status_code == 201
        contract = client.get_version("live.orders").contract
        reporter = BreachReporter(
            client.report_breaches, source="orders-consumer", spool_dir=tmp_path / "spool"
        )
        for index in range(5):
            record = {"id": str(index), "ts": datetime.now(UTC).isoformat()}
            reporter.record(contract, 1, [], record, event_time=datetime.now(UTC))
        assert reporter.flush()
        reported_at = datetime.now(UTC)

        def freshness() -> str | None:
            checks = httpx.get(f"{url}/contracts/live.orders/sla").json()["checks"]
            return next((c["status"] for c in checks if c["rule"] == "freshness"), None)

        assert wait_for("the first verdict", freshness) == "ok"
        # The enforcer goes quiet. Past the 2 s allowed, the dead man's switch trips.
        wait_for("the freshness breach", lambda: freshness() == "breached")
        assert datetime.now(UTC) - reported_at >= timedelta(seconds=2)

        text = httpx.get(f"{url}/metrics").text
        check = {"contract": "live.orders", "source": "orders-consumer", "rule": "freshness"}
        assert value(text, "accord_sla_breached", **check) == 1
        assert value(text, "accord_sla_status", contract="live.orders") == 0
        sla_breach = {"contract": "live.orders", "version": "1", "kind": "sla"}
        assert value(text, "accord_breaches_total", **sla_breach, rule="freshness") == 1
        records = {"contract": "live.orders", "source": "orders-consumer", "result": "valid"}
        assert value(text, "accord_records_validated_total", **records) == 5

        [request] = wait_for("the webhook", lambda: receiver.of_type("sla.status_changed"))
        time.sleep(1.0)  # a few more evaluation and delivery rounds: still one delivery
        assert len(receiver.requests) == 1
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert verify(SECRET, request.body, headers["x-accord-signature"])
        data = request.json["data"]
        assert (data["source"], data["rule"], data["previous"], data["status"]) == (
            "orders-consumer",
            "freshness",
            "ok",
            "breached",
        )
        breaches = httpx.get(f"{url}/contracts/live.orders/breaches", params={"kind": "sla"})
        [stored] = breaches.json()["items"]
        assert (stored["rule"], stored["source"]) == ("freshness", "orders-consumer")
