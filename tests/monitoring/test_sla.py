"""SLA evaluation: the pure judgement, and evaluation over the database (both dialects)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from contracts.model import SLA, Freshness, Volume
from registry.db import Database
from registry.monitoring import Monitor
from registry.monitoring.sla import SourceStats, judge
from registry.settings import Settings
from registry.tables import BreachRow, ContractRow, SlaEventRow, VersionRow, WebhookDeliveryRow
from tests.monitoring.conftest import observation, publish, report, sla_contract

# Simulated time runs from two days ago: the registry stores event times no later than a
# few minutes past its own clock, so reports "from the future" would be moved back.
NOW = (datetime.now(UTC) - timedelta(days=2)).replace(minute=30, second=0, microsecond=0)
HOUR = timedelta(hours=1)


def stats(**kwargs: object) -> SourceStats:
    values: dict[str, object] = {
        "source": "job",
        "first_window_start": NOW - 3 * HOUR,
        "last_window_end": NOW - timedelta(minutes=1),
        "newest_event": NOW - timedelta(minutes=2),
        "window_records": 10,
        "recent_records": 10,
        "recent_invalid": 0,
    }
    return SourceStats(**(values | kwargs))  # type: ignore[arg-type]


SLA_ALL = SLA(
    freshness=Freshness("ts", timedelta(minutes=10)),
    volume=Volume(HOUR, 5, 100),
    max_breach_rate=0.1,
)


def verdicts(sla: SLA, source: SourceStats) -> dict[str, tuple[str, float | None]]:
    return {v.rule: (v.status, v.measured) for v in judge(sla, source, NOW)}


def test_judge_all_within() -> None:
    assert verdicts(SLA_ALL, stats()) == {
        "freshness": ("ok", 120.0),
        "volume": ("ok", 10),
        "breach_rate": ("ok", 0.0),
    }


def test_judge_breaches() -> None:
    got = verdicts(
        SLA_ALL,
        stats(newest_event=NOW - timedelta(minutes=11), window_records=2, recent_invalid=2),
    )
    assert got == {
        "freshness": ("breached", 660.0),
        "volume": ("breached", 2),
        "breach_rate": ("breached", 0.2),
    }
    assert verdicts(SLA_ALL, stats(window_records=101))["volume"] == ("breached", 101)


def test_judge_unknown_until_there_is_data() -> None:
    got = verdicts(SLA_ALL, stats(first_window_start=NOW - timedelta(minutes=40), recent_records=0))
    assert got["volume"] == ("unknown", None)
    assert got["breach_rate"] == ("unknown", None)


def test_freshness_without_event_times_is_the_age_of_the_last_report() -> None:
    sla = SLA(freshness=Freshness("ts", timedelta(minutes=10)))
    silent = stats(newest_event=None, last_window_end=NOW - timedelta(minutes=30))
    [verdict] = judge(sla, silent, NOW)
    assert verdict.status == "breached" and "no event times" in verdict.message


# -- over the database ----------------------------------------------------------------------


def _rows(db: Database, table: type[BreachRow] | type[SlaEventRow]) -> list[object]:
    with db.reads() as session:
        return list(session.scalars(sa.select(table).order_by(table.id)))


def test_a_silent_source_raises_one_freshness_breach(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    start = NOW - timedelta(minutes=1)
    report(
        client, "orders-consumer", observations=[observation("shop.orders", start, newest=start)]
    )

    assert [c.status for c in monitor.run_once(NOW).sla_changes] == ["ok"]
    assert client.get("/contracts/shop.orders/sla").json()["status"] == "ok"

    # Nothing more arrives: past the 10 minutes allowed, the dead man's switch trips once.
    later = NOW + timedelta(minutes=10)
    changes = monitor.run_once(later).sla_changes
    assert [(c.rule, c.previous, c.status, c.episode) for c in changes] == [
        ("freshness", "ok", "breached", 1)
    ]
    assert monitor.run_once(later + timedelta(minutes=1)).sla_changes == []
    [stored] = _rows(monitor.db, BreachRow)
    assert isinstance(stored, BreachRow)
    assert (stored.kind, stored.rule, stored.source, stored.count) == (
        "sla",
        "freshness",
        "orders-consumer",
        1,
    )
    assert stored.report_id == "sla:shop.orders:orders-consumer:freshness:1"
    assert stored.last_seen == later + timedelta(minutes=1)

    # It reports again: recovered, and a later silence is a second episode.
    back = later + timedelta(minutes=2)
    report(client, "orders-consumer", observations=[observation("shop.orders", back, newest=back)])
    assert [c.status for c in monitor.run_once(back).sla_changes] == ["ok"]
    assert [c.episode for c in monitor.run_once(back + HOUR).sla_changes] == [2]
    assert len(_rows(monitor.db, BreachRow)) == 2

    body = client.get("/contracts/shop.orders/sla").json()
    assert body["status"] == "breached"
    [check] = body["checks"]
    assert check["rule"] == "freshness" and check["episode"] == 2
    assert [(e["previous"], e["status"]) for e in body["history"]] == [
        ("ok", "breached"),
        ("breached", "ok"),
        ("ok", "breached"),
        (None, "ok"),
    ]
    assert body["sla"]["freshness"] == {"field": "ts", "max_delay": "PT10M"}


def test_volume_and_breach_rate(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract())
    hour = NOW.replace(minute=0) - HOUR  # the last complete hour before NOW
    early = hour - HOUR
    report(
        client,
        "batch-job",
        observations=[
            observation("shop.orders", early, records=10, newest=NOW),
            observation("shop.orders", hour + timedelta(minutes=5), records=3),
            # The trailing hour before NOW: 1 of 4 invalid.
            observation("shop.orders", NOW - timedelta(minutes=10), records=4, invalid=1),
        ],
    )
    monitor.run_once(NOW)
    checks = {c["rule"]: c for c in client.get("/contracts/shop.orders/sla").json()["checks"]}
    assert checks["volume"]["status"] == "breached"
    assert checks["volume"]["measured"] == 3 and checks["volume"]["threshold"] == 5
    assert checks["breach_rate"]["status"] == "breached"
    assert checks["breach_rate"]["measured"] == 1 / 4
    assert checks["freshness"]["status"] == "ok"
    rules = sorted(b.rule for b in _rows(monitor.db, BreachRow))  # type: ignore[attr-defined]
    assert rules == ["breach_rate", "volume"]


def test_sources_silent_past_the_horizon_become_inactive(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    report(client, "old-job", observations=[observation("shop.orders", NOW, newest=NOW)])
    monitor.run_once(NOW)
    monitor.run_once(NOW + timedelta(days=8))
    [check] = client.get("/contracts/shop.orders/sla").json()["checks"]
    assert check["status"] == "inactive"
    assert client.get("/contracts/shop.orders/sla").json()["status"] == "unknown"


def test_a_contract_that_cannot_be_evaluated_stops_no_other(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract("a.odd", max_breach_rate=None))
    publish(client, sla_contract("z.orders", minimum=None, max_breach_rate=None))

    def zero_window(session: Session) -> None:
        # As if stored before SLA durations were bounded: a volume window of no time at all.
        row = session.scalars(
            sa.select(VersionRow).join(ContractRow).where(ContractRow.name == "a.odd")
        ).one()
        row.document = row.document.replace('"PT1H"', '"PT0S"')

    monitor.db.write(zero_window)
    silent = NOW - HOUR
    for name in ("a.odd", "z.orders"):
        report(client, "job", observations=[observation(name, silent, newest=silent)])
    changes = monitor.run_once(NOW).sla_changes
    assert [(c.contract, c.rule, c.status) for c in changes] == [
        ("z.orders", "freshness", "breached")
    ]


def test_sla_of_unknown_and_sla_less_contracts(client: TestClient) -> None:
    assert client.get("/contracts/nope/sla").status_code == 404
    doc = sla_contract("plain.events")
    del doc["sla"]
    publish(client, doc)
    body = client.get("/contracts/plain.events/sla").json()
    assert body == {
        "name": "plain.events",
        "version": 1,
        "sla": None,
        "status": "none",
        "checks": [],
        "history": [],
    }


def test_concurrent_evaluators_count_an_episode_once(
    client: TestClient, settings: Settings, receiver: object
) -> None:
    """Two registry processes (two engines) evaluating at the same moment."""
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    client.post("/webhooks", json={"url": "http://127.0.0.1:9/unused"})
    report(client, "consumer", observations=[observation("shop.orders", NOW, newest=NOW)])
    later = NOW + HOUR
    databases = [Database(settings.database_url) for _ in range(2)]
    monitors = [Monitor(db, settings) for db in databases]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def evaluate(m: Monitor) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                m.run_once(later)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=evaluate, args=(m,)) for m in monitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.dispose()
    assert not errors, errors
    body = client.get("/contracts/shop.orders/sla").json()
    assert [(e["previous"], e["status"]) for e in body["history"]] == [(None, "breached")]
    [stored] = _rows(monitors[0].db, BreachRow)
    assert isinstance(stored, BreachRow) and stored.rule == "freshness"
    deliveries = _rows(monitors[0].db, WebhookDeliveryRow)  # type: ignore[arg-type]
    assert len(deliveries) == 1


def test_the_lease_lets_one_process_evaluate(settings: Settings) -> None:
    first, second = Database(settings.database_url), Database(settings.database_url)
    try:
        a, b = Monitor(first, settings), Monitor(second, settings)
        assert a.tick(NOW).ran
        assert not b.tick(NOW + timedelta(seconds=5)).ran
        assert a.tick(NOW + timedelta(seconds=10)).ran  # the holder renews it
        assert b.tick(NOW + timedelta(minutes=5)).ran  # expired: taken over
    finally:
        first.dispose()
        second.dispose()


def test_a_volume_window_is_judged_once_its_late_reports_are_in(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract(window="PT1M", minimum=115, max_breach_rate=None))
    first = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    report(client, "job", observations=[observation("shop.orders", first, records=120)])
    window = first + timedelta(minutes=1)
    # The reporter's flush at 12:01:58 had 114 of the window's records; the rest come 5 s on.
    report(client, "job", observations=[observation("shop.orders", window, records=114)])
    assert _volume(client, monitor, window + timedelta(minutes=1, seconds=2)) != "breached"
    late = window + timedelta(seconds=59)
    report(client, "job", observations=[observation("shop.orders", late, records=6)])
    assert _volume(client, monitor, window + timedelta(minutes=2)) == "ok"


def _volume(client: TestClient, monitor: Monitor, now: datetime) -> str:
    monitor.run_once(now)
    checks = client.get("/contracts/shop.orders/sla").json()["checks"]
    status: str = next(c["status"] for c in checks if c["rule"] == "volume")
    return status


def test_checks_of_a_deleted_contract_end_rather_than_stay_breached(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    report(client, "job", observations=[observation("shop.orders", NOW, newest=NOW)])
    monitor.run_once(NOW + HOUR)
    [check] = client.get("/contracts/shop.orders/sla").json()["checks"]
    assert check["status"] == "breached"
    assert client.delete("/contracts/shop.orders").status_code == 200
    changes = monitor.run_once(NOW + 2 * HOUR).sla_changes
    assert [(c.rule, c.previous, c.status) for c in changes] == [
        ("freshness", "breached", "inactive")
    ]
    metrics = client.get("/metrics").text.splitlines()
    assert not [line for line in metrics if line.startswith("accord_sla_breached{")]


def test_an_event_time_in_the_future_does_not_keep_a_source_fresh(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    now = datetime.now(UTC)
    future = datetime(2099, 1, 1, tzinfo=UTC)  # one record dated ahead, or a clock running fast
    body = [observation("shop.orders", now, newest=future)]
    report(client, "job", observations=body)
    assert report(client, "job", observations=body)["duplicates"] == 1  # a resend is no conflict
    changes = monitor.run_once(now + HOUR).sla_changes  # silent for an hour since
    assert [(c.rule, c.status) for c in changes] == [("freshness", "breached")]


def test_a_source_whose_clock_runs_fast_does_not_stay_fresh(
    client: TestClient, monitor: Monitor
) -> None:
    publish(client, sla_contract(minimum=None, max_breach_rate=None))
    now = datetime.now(UTC)
    ahead = now + timedelta(days=1)  # its windows end a day from now; no event times
    report(client, "job", observations=[observation("shop.orders", ahead)])
    changes = monitor.run_once(now + HOUR).sla_changes  # silent for an hour since
    assert [(c.rule, c.status) for c in changes] == [("freshness", "breached")]
