"""ContractSource: resolve once, revalidate ``latest`` with its ETag, ids cached for good.

The registry is the real service (`accord serve` over SQLite); the client's transport is
httpx's own, wrapped only to count the requests and to play an unreachable registry.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from contracts import Contract, load_file
from enforcers.contract_source import (
    ContractSource,
    ContractSourceError,
    UnknownSchemaId,
    is_contract_file,
)
from enforcers.kafka.common import check_raw, frame, unframe
from enforcers.registry_client import RegistryClient, RegistryError
from tests.conftest import EXAMPLES
from tests.processes import running_registry

ORDERS = EXAMPLES / "orders.created.yaml"

DOC: dict[str, Any] = {
    "name": "demo.events",
    "description": "Test events.",
    "owner": {"team": "payments"},
    "compatibility": {"mode": "BACKWARD", "policy": "STRICT"},
    "schema": {
        "type": "object",
        "required": ["id", "at"],
        "properties": {
            "id": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "amount": {"type": "integer", "minimum": 0},
        },
    },
    "rules": [{"name": "small", "expression": "!has(this.amount) || this.amount < 1000"}],
    "sla": {"freshness": {"field": "at", "max_delay": "PT5M"}},
}


class Counting(httpx.BaseTransport):
    """Passes requests on; counts them, and can play unreachable or hung."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str | None, int]] = []  # path, If-None-Match, status
        self.attempts: list[str] = []  # every request's path, answered or not
        self.down = False
        self.hang = threading.Event()  # cleared: requests wait until it is set
        self.hang.set()
        self.hold_answer: threading.Event | None = None  # the next answer waits for it
        self.waiting = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request.url.path)
        self.waiting = not self.hang.is_set()
        self.hang.wait()
        self.waiting = False
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        response = self.inner.handle_request(request)
        hold, self.hold_answer = self.hold_answer, None
        if hold is not None:
            response.read()
            self.waiting = True
            hold.wait()
            self.waiting = False
        self.seen.append(
            (request.url.path, request.headers.get("if-none-match"), response.status_code)
        )
        return response


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("registry")
    with running_registry(f"sqlite:///{tmp / 'registry.db'}", tmp) as url:
        yield url


@pytest.fixture
def registry(registry_url: str) -> Iterator[tuple[RegistryClient, Counting]]:
    transport = Counting(httpx.HTTPTransport())
    with RegistryClient(registry_url, transport=transport) as client:
        yield client, transport


def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.01)


def doc(name: str) -> dict[str, Any]:
    return {**copy.deepcopy(DOC), "name": name}


def test_latest_is_fetched_once_and_revalidated_with_its_etag(
    registry: tuple[RegistryClient, Counting],
) -> None:
    client, transport = registry
    first = client.publish(doc("demo.latest"))
    clock = Clock()
    source = ContractSource.from_registry(client, "demo.latest", refresh_interval=30, clock=clock)
    resolved = source.current()
    assert (resolved.name, resolved.version, resolved.global_id) == ("demo.latest", 1, first.id)
    for _ in range(1000):
        assert source.current() is resolved
    assert len(transport.seen) == 2  # the publish, and one read

    clock.now += 31
    assert source.current() is resolved  # at once: the registry is asked in the background
    eventually(lambda: len(transport.seen) == 3)
    path, etag, status = transport.seen[-1]
    assert (path, status) == ("/contracts/demo.latest/versions/latest", 304) and etag

    changed = doc("demo.latest")
    changed["description"] = "Test events, second edition."
    second = client.publish(changed)
    assert source.current() is resolved  # not due yet
    clock.now += 31
    source.current()
    eventually(lambda: source.current() is not resolved)
    latest = source.current()
    assert (latest.version, latest.global_id) == (2, second.id)
    assert source.by_id(first.id) is resolved  # every version seen is kept by its id

    # An unreachable registry leaves the version in force.
    transport.down = True
    asked = len(transport.attempts)
    clock.now += 31
    assert source.current() is latest
    eventually(lambda: len(transport.attempts) == asked + 1 and not source._revalidating)
    assert source.current() is latest
    assert source.refresh() is latest  # asked now, and waited for
    assert len(transport.attempts) == asked + 2


def test_a_hung_registry_holds_up_no_record(registry: tuple[RegistryClient, Counting]) -> None:
    client, transport = registry
    client.publish(doc("demo.hung"))
    clock = Clock()
    source = ContractSource.from_registry(client, "demo.hung", refresh_interval=30, clock=clock)
    resolved = source.current()
    transport.hang.clear()
    try:
        clock.now += 31
        started = time.monotonic()
        for _ in range(1000):
            assert source.current() is resolved
        assert time.monotonic() - started < 1
        eventually(lambda: transport.waiting)  # the revalidation is stuck in the registry
        clock.now += 31  # due again: no second request while the first hangs
        source.current()
        assert transport.attempts.count("/contracts/demo.hung/versions/latest") == 2
    finally:
        transport.hang.set()
    eventually(lambda: not source._revalidating)
    assert source.current() is resolved


def test_a_late_answer_does_not_undo_a_later_one(
    registry: tuple[RegistryClient, Counting],
) -> None:
    client, transport = registry
    client.publish(doc("demo.late"))
    clock = Clock()
    source = ContractSource.from_registry(client, "demo.late", refresh_interval=30, clock=clock)
    assert source.current().version == 1
    release = transport.hold_answer = threading.Event()
    clock.now += 31
    source.current()  # the background request gets version 1, and its answer is held
    eventually(lambda: transport.waiting)
    changed = doc("demo.late")
    changed["description"] = "Test events, second edition."
    client.publish(changed)
    assert source.refresh().version == 2
    release.set()
    eventually(lambda: not source._revalidating)
    assert source.current().version == 2


def test_a_slow_id_lookup_holds_up_no_other_thread(
    registry: tuple[RegistryClient, Counting],
) -> None:
    client, transport = registry
    client.publish(doc("demo.slowid"))
    clock = Clock()
    source = ContractSource.from_registry(client, "demo.slowid", refresh_interval=30, clock=clock)
    resolved = source.current()
    transport.hang.clear()

    def look_up() -> None:
        with contextlib.suppress(UnknownSchemaId):
            source.by_id(10**6)

    lookup = threading.Thread(target=look_up, daemon=True)
    try:
        lookup.start()  # an unknown id: asked of the registry, which does not answer
        eventually(lambda: transport.waiting)
        clock.now += 31  # due: the record path must not wait for the lookup's lock
        started = time.monotonic()
        assert source.current() is resolved
        assert time.monotonic() - started < 1
    finally:
        transport.hang.set()
    lookup.join(10)
    eventually(lambda: not source._revalidating)


def test_a_pinned_version_is_never_asked_for_again(
    registry: tuple[RegistryClient, Counting],
) -> None:
    client, transport = registry
    client.publish(doc("demo.pinned"))
    clock = Clock()
    source = ContractSource.parse("demo.pinned@1", client=client)
    assert source.current().version == 1
    before = len(transport.seen)
    clock.now += 3600
    for _ in range(10):
        source.current()
    assert len(transport.seen) == before
    with pytest.raises(ContractSourceError, match=r"demo\.pinned@7"):
        ContractSource.parse("demo.pinned@7", client=client)
    with pytest.raises(ContractSourceError, match=r"nothing\.here"):
        ContractSource.parse("nothing.here", client=client)


def test_ids_through_the_registry(registry: tuple[RegistryClient, Counting]) -> None:
    client, transport = registry
    first = client.publish(doc("demo.ids"))
    changed = doc("demo.ids")
    changed["description"] = "Test events, second edition."
    second = client.publish(changed)
    source = ContractSource.from_registry(client, "demo.ids")
    assert source.by_id(second.id) is source.current()  # known from resolving latest
    before = len(transport.seen)
    older = source.by_id(first.id)
    assert (older.name, older.version, older.global_id) == ("demo.ids", 1, first.id)
    assert transport.seen[before:] == [(f"/versions/{first.id}", None, 200)]
    assert source.by_id(first.id) is older  # kept for good: versions are immutable
    unknown = second.id + 1000
    with pytest.raises(UnknownSchemaId, match=f"schema id {unknown}"):
        source.by_id(unknown)
    before = len(transport.seen)
    with pytest.raises(UnknownSchemaId):  # not asked again right away
        source.by_id(unknown)
    assert len(transport.seen) == before
    transport.down = True  # an unreachable registry is no verdict on the id
    with pytest.raises(RegistryError):
        source.by_id(unknown + 1)


def test_local_file_and_explicit_ids() -> None:
    orders = load_file(str(ORDERS))
    payments = load_file(str(EXAMPLES / "payments.settled.yaml"))
    source = ContractSource.parse(str(ORDERS), ids={7: (orders, 3), 8: (payments, 1)})
    assert source.client is None and source.name == "orders.created"
    assert (source.current().version, source.current().global_id) == (3, 7)  # found in ids
    assert source.by_id(8).name == "payments.settled"
    with pytest.raises(UnknownSchemaId, match="schema id 9"):
        source.by_id(9)
    plain = ContractSource.from_file(ORDERS)
    assert (plain.current().version, plain.current().global_id) == (None, None)
    with pytest.raises(ContractSourceError):
        ContractSource.from_file(EXAMPLES / "missing.yaml")
    with pytest.raises(ContractSourceError, match="NAME"):
        ContractSource.parse("bad name@x")
    assert is_contract_file(str(ORDERS)) and is_contract_file("new.yml")
    assert not is_contract_file("orders.created@3")


def test_event_time_comes_from_the_freshness_field() -> None:
    source = ContractSource.from_contract(load_file(str(ORDERS)))
    resolved = source.current()
    assert resolved.event_time({"created_at": "2026-03-01T10:00:00Z"}) == datetime(
        2026, 3, 1, 10, tzinfo=UTC
    )
    assert resolved.event_time({"created_at": "yesterday"}) is None
    assert resolved.event_time({}) is None
    assert resolved.event_time(None) is None
    # No offset reads as UTC; a leap second as the second before it.
    assert resolved.event_time({"created_at": "2026-03-01T10:00:00"}) == datetime(
        2026, 3, 1, 10, tzinfo=UTC
    )
    assert resolved.event_time({"created_at": "2016-12-31T23:59:60.5Z"}) == datetime(
        2016, 12, 31, 23, 59, 59, 500000, tzinfo=UTC
    )
    assert resolved.freshness_checked  # created_at is a date-time in the schema


@pytest.mark.parametrize(
    ("at", "checked"),
    [
        ({"type": "string", "format": "date-time"}, True),
        ({"type": "string"}, False),
        ({"$ref": "#/$defs/moment"}, False),  # reached through a reference: not trusted
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]}, False),
    ],
)
def test_freshness_field_is_checked_only_where_the_schema_asserts_a_date_time(
    at: dict[str, Any], checked: bool
) -> None:
    doc = copy.deepcopy(DOC)
    doc["schema"]["properties"]["at"] = at
    doc["schema"]["$defs"] = {"moment": {"type": "string", "format": "date-time"}}
    resolved = ContractSource.from_contract(Contract.from_document(doc)).current()
    assert resolved.freshness_checked is checked


def test_framing_modes() -> None:
    orders = load_file(str(ORDERS))
    source = ContractSource.from_contract(orders, 4, global_id=17)
    valid = orjson.dumps(
        {
            "order_id": "00000000-0000-0000-0000-000000000001",
            "created_at": "2026-01-01T00:00:00Z",
            "channel": "web",
            "customer": {"customer_id": "C00000001", "email": "a@example.com"},
            "line_items": [
                {"sku": "A", "quantity": 1, "unit_price": {"amount_minor": 5, "currency": "EUR"}}
            ],
            "total": {"amount_minor": 5, "currency": "EUR"},
        }
    )
    framed = frame(17, valid)
    assert unframe(framed) == (17, valid)
    with pytest.raises(ValueError):
        unframe(valid)

    def rules(raw: bytes | None, framing: Any) -> list[str]:
        return [f.rule for f in check_raw(source, raw, framing)[3]]

    assert rules(valid, "auto") == rules(framed, "auto") == []
    assert rules(framed, "confluent") == rules(valid, "none") == []
    assert rules(valid, "confluent") == ["framing"]
    assert rules(framed, "none") == ["json"]  # a NUL byte is not JSON
    assert rules(frame(18, valid), "auto") == ["schema_id"]
    assert rules(None, "auto") == ["tombstone"]
    resolved, global_id, record, _ = check_raw(source, framed, "auto")
    assert (resolved.version, global_id, record["channel"]) == (4, 17, "web")
