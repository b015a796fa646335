"""Many clients publishing at once, over real HTTP to a real uvicorn with two workers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from alembic import command

from registry.migrate import alembic_config
from tests.processes import running_registry
from tests.registry.conftest import DATABASES, empty_database, small

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=DATABASES)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server (two worker processes) per database for this module: the tests below use
    contracts of their own, and starting uvicorn costs seconds."""
    folder = tmp_path_factory.mktemp("concurrency")
    with empty_database(request.param, folder) as database_url:
        command.upgrade(alembic_config(database_url), "head")
        with running_registry(database_url, folder, workers=2) as base_url:
            yield base_url


def _open(doc: dict[str, Any]) -> dict[str, Any]:
    """An open content model under LENIENT: any optional addition or removal is BACKWARD
    compatible, so concurrent additions are compatible in whatever order they land."""
    del doc["schema"]["additionalProperties"]
    doc["compatibility"]["policy"] = "LENIENT"
    return doc


def _fire(url: str, docs: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every document at once (one thread and connection each, released together)."""
    start = threading.Barrier(len(docs))

    def one(doc: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as client:
            start.wait()
            return client.post(f"/contracts/{doc['name']}/versions", json=doc)

    with ThreadPoolExecutor(len(docs)) as pool:
        return list(pool.map(one, docs))


def test_concurrent_publishes_number_versions_contiguously(url: str) -> None:
    distinct = [_open(small(extra=(f"field_{i}",))) for i in range(25)]
    # Every distinct document twice, plus the first version's content again: 51 requests.
    docs = [doc for doc in distinct for _ in range(2)]
    first = httpx.post(f"{url}/contracts/demo.events/versions", json=_open(small()))
    assert first.status_code == 201
    responses = _fire(url, [*docs, _open(small())])

    statuses = Counter(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses if r.status_code >= 500]
    assert statuses == {201: 25, 200: 26}, statuses
    by_fingerprint: dict[str, set[int]] = {}
    for r in responses:
        by_fingerprint.setdefault(r.json()["fingerprint"], set()).add(r.json()["version"])
    assert all(len(v) == 1 for v in by_fingerprint.values())  # same content, same version
    assert len(by_fingerprint) == 26

    listed = httpx.get(f"{url}/contracts/demo.events/versions").json()["items"]
    assert [v["version"] for v in listed] == list(range(1, 27))
    ids = [v["id"] for v in listed]
    assert ids == sorted(ids) and len(set(ids)) == 26


def test_concurrent_conflicting_publishes_are_judged_one_after_another(url: str) -> None:
    """Closed model, BACKWARD: each candidate adds its own property to v1, so whichever
    lands first makes every other one a removal, incompatible. Exactly one may win."""
    candidates = [small("race.events", extra=(f"field_{i}",)) for i in range(12)]
    # The contract's first publish races too: every request finds no contract yet.
    responses = _fire(url, [small("race.events"), *candidates])
    statuses = Counter(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses if r.status_code >= 500]
    listed = httpx.get(f"{url}/contracts/race.events/versions").json()["items"]
    versions = [v["version"] for v in listed]
    assert versions == list(range(1, len(versions) + 1))
    assert statuses[201] == len(versions) and statuses[409] == len(responses) - len(versions)
    # v1 is either the base or one candidate; at most one more candidate follows it.
    assert len(versions) <= 2
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "incompatible"


def test_concurrent_reports_add_up_in_the_metrics(url: str) -> None:
    # Sources reporting the same rules at once, each batch listing them in its own order,
    # and each batch sent twice: every failure is counted once, and no request fails.
    rules = [f"rule_{i}" for i in range(6)]

    def batch(source: int, attempt: int) -> dict[str, Any]:
        order = rules[source % len(rules) :] + rules[: source % len(rules)]
        window = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-01T00:01:00Z"}
        return {
            "source": f"enforcer-{source % 3}",
            "breaches": [
                {
                    "id": f"totals-{source}-{rule}",
                    "contract": "totals.events",
                    "version": 1,
                    "kind": "rule",
                    "rule": rule,
                    "severity": "error",
                    "count": source + 1,
                    "first_seen": window["window_start"],
                    "last_seen": window["window_end"],
                    **window,
                }
                for rule in (order if attempt == 0 else list(reversed(order)))
            ],
        }

    batches = [batch(source, attempt) for source in range(12) for attempt in range(2)]
    start = threading.Barrier(len(batches))

    def one(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as client:
            start.wait()
            return client.post("/breaches", json=body)

    with ThreadPoolExecutor(len(batches)) as pool:
        responses = list(pool.map(one, batches))
    assert [r.status_code for r in responses] == [200] * len(batches), responses[0].text
    totals = Counter[str]()
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("accord_breaches_total{") and 'contract="totals.events"' in line:
            totals[line.split('rule="')[1].split('"')[0]] += int(float(line.split()[-1]))
    assert totals == dict.fromkeys(rules, sum(range(1, 13)))
