"""Webhooks: registration, which events reach whom, signing, retries, the outbox."""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Event, Thread

import httpx
import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.app import create_app
from registry.monitoring import Monitor, webhooks
from registry.monitoring.webhooks import _send, verify
from registry.settings import Settings
from registry.tables import WebhookDeliveryRow, WebhookRow
from tests.monitoring.conftest import (
    Receiver,
    breach,
    observation,
    publish,
    register,
    report,
    sla_contract,
)
from tests.registry.conftest import error_of

SECRET = "s3cret-s3cret-s3cret"


def test_register_list_read_delete(client: TestClient) -> None:
    created = register(client, "https://hooks.example.com/a", contract="shop.orders")
    assert len(created["secret"]) >= 32 and created["events"] == []
    team = register(
        client, "https://hooks.example.com/b", team="checkout", events=["sla.status_changed"]
    )
    listed = client.get("/webhooks").json()["items"]
    assert [h["id"] for h in listed] == [created["id"], team["id"]]
    assert all("secret" not in h for h in listed)
    assert (
        client.get("/webhooks", params={"team": "checkout"}).json()["items"][0]["id"] == team["id"]
    )
    assert client.get(f"/webhooks/{created['id']}").json()["contract"] == "shop.orders"
    assert client.delete(f"/webhooks/{created['id']}").status_code == 204
    missing = client.get(f"/webhooks/{created['id']}")
    assert missing.status_code == 404 and error_of(missing)["code"] == "webhook_not_found"
    assert client.delete(f"/webhooks/{created['id']}").status_code == 404


def test_invalid_webhooks_are_refused(client: TestClient) -> None:
    for body in (
        {"url": "ftp://example.com"},
        {"url": "https://example.com", "events": ["no.such"]},
        {"url": "https://example.com", "secret": "short"},
        {"url": "https://example.com", "extra": 1},
        # URLs no request can be sent to: they failed only when sending, every time.
        {"url": "http://a..b/hook"},
        {"url": "http://[::1/hook"},
        {"url": "http:///no-host"},
        # Where clouds serve instance credentials (link-local): blocked by default.
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "http://[::ffff:169.254.169.254]/"},
        {"url": "http://[fe80::1]:8080/"},
        {"url": "http://2852039166/"},  # 169.254.169.254 in the forms resolvers take
        {"url": "http://0xa9fea9fe/"},
        {"url": "http://169.254.43518/"},
        {"url": "http://[fd00:ec2::254]/"},
    ):
        response = client.post("/webhooks", json=body)
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "invalid_request"
    assert client.get("/webhooks").json()["items"] == []


def test_update_a_webhook(client: TestClient) -> None:
    hook = register(
        client, "https://hooks.example.com/a", contract="shop.orders", description="first"
    )
    url = f"/webhooks/{hook['id']}"
    changed = client.patch(
        url, json={"url": "https://hooks.example.com/b", "events": ["sla.status_changed"]}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["secret"] is None  # not replaced, so not shown
    assert (body["url"], body["events"], body["contract"], body["description"]) == (
        "https://hooks.example.com/b",
        ["sla.status_changed"],
        "shop.orders",  # fields left out are kept
        "first",
    )
    moved = client.patch(url, json={"contract": None, "team": "checkout", "description": None})
    assert (moved.json()["contract"], moved.json()["team"], moved.json()["description"]) == (
        None,
        "checkout",
        None,
    )
    assert client.get(url).json() == {k: v for k, v in moved.json().items() if k != "secret"}
    missing = client.patch("/webhooks/999999", json={"description": "x"})
    assert missing.status_code == 404 and error_of(missing)["code"] == "webhook_not_found"


def test_invalid_updates_are_refused_and_change_nothing(client: TestClient) -> None:
    hook = register(client, "https://hooks.example.com/a", team="checkout")
    url = f"/webhooks/{hook['id']}"
    before = client.get(url).json()
    for body, field in (
        ({"url": "ftp://example.com"}, "url"),
        ({"url": None}, "url"),
        ({"events": ["no.such"], "description": "kept out"}, "events"),
        ({"events": None}, "events"),
        ({"secret": "short"}, "secret"),
        ({"secret": "s" * 20, "rotate_secret": True}, "rotate_secret"),
        ({"id": 7}, "id"),
        ({"url": "http://169.254.169.254/", "description": "kept out"}, "url"),
    ):
        response = client.patch(url, json=body)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "invalid_request" and field in error["message"], error
    assert client.get(url).json() == before


def test_a_rotated_secret_signs_the_pending_retries(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    hook = register(client, receiver.url, contract="shop.orders", secret=SECRET)
    receiver.statuses = [500]
    _breaching(client, monitor)
    assert [a.status for a in monitor.deliver_once()] == [500]  # signed with the old secret
    rotated = client.patch(f"/webhooks/{hook['id']}", json={"rotate_secret": True})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert len(new) >= 32 and new != SECRET
    assert "secret" not in client.get(f"/webhooks/{hook['id']}").json()
    time.sleep(0.25)  # the backoff
    assert [a.status for a in monitor.deliver_once()] == [200]
    old_request, retry = receiver.requests
    assert old_request.body == retry.body
    signature = {k.lower(): v for k, v in retry.headers.items()}["x-accord-signature"]
    assert verify(new, retry.body, signature) and not verify(SECRET, retry.body, signature)
    chosen = "a-secret-of-the-receivers-own"
    given = client.patch(f"/webhooks/{hook['id']}", json={"secret": chosen})
    assert given.json()["secret"] == chosen


def _breaching(client: TestClient, monitor: Monitor, name: str = "shop.orders") -> None:
    """A source that reported once, then went silent past the freshness limit."""
    now = datetime.now(UTC)
    report(client, "consumer", observations=[observation(name, now, newest=now)])
    monitor.run_once(now)
    monitor.run_once(now + timedelta(hours=1))


def test_signed_delivery(client: TestClient, monitor: Monitor, receiver: Receiver) -> None:
    publish(client, sla_contract())
    hook = register(client, receiver.url, contract="shop.orders", secret=SECRET)
    _breaching(client, monitor)
    attempts = monitor.deliver_once()
    assert [a.delivered for a in attempts] == [True]
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["x-accord-signature"] == expected
    assert verify(SECRET, request.body, headers["x-accord-signature"])
    assert not verify("another-secret-entirely", request.body, headers["x-accord-signature"])
    assert abs(int(headers["x-accord-timestamp"]) - time.time()) < 60
    assert headers["x-accord-event"] == "sla.status_changed"
    assert headers["content-type"] == "application/json"
    event = request.json
    assert set(event) == {"id", "type", "created_at", "contract", "team", "data"}
    assert (event["type"], event["contract"], event["team"]) == (
        "sla.status_changed",
        "shop.orders",
        "checkout",
    )
    data = event["data"]
    assert (data["source"], data["rule"], data["previous"], data["status"]) == (
        "consumer",
        "freshness",
        "ok",
        "breached",
    )
    assert data["episode"] == 1 and data["threshold"] == 600
    assert monitor.deliver_once() == []  # delivered once
    [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        1,
        200,
    )


def test_failed_deliveries_are_retried_with_backoff(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    hook = register(client, receiver.url)
    receiver.statuses = [500, 503]
    _breaching(client, monitor)
    # A retry is due `backoff` (0.2 s) after the attempt ended, which was between the two
    # clocks read around it; later rounds say when they run, so no pause can skew them.
    before = datetime.now(UTC)
    assert [a.status for a in monitor.deliver_once()] == [500]
    after = datetime.now(UTC)
    assert monitor.deliver_once(before + timedelta(seconds=0.15)) == []  # not due yet
    before = datetime.now(UTC)
    assert [a.status for a in monitor.deliver_once(after + timedelta(seconds=0.2))] == [503]
    after = datetime.now(UTC)
    # The second retry waits twice as long.
    assert monitor.deliver_once(before + timedelta(seconds=0.35)) == []
    assert [a.status for a in monitor.deliver_once(after + timedelta(seconds=0.4))] == [200]
    bodies = {r.body for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(bodies) == 1  # the same event each time
    [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 3)


def test_deliveries_are_given_up_after_the_last_attempt(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    hook = register(client, receiver.url)
    receiver.statuses = [500, 500, 500]
    _breaching(client, monitor)
    for _ in range(3):
        monitor.deliver_once(datetime.now(UTC) + timedelta(hours=2))
    [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (delivery["state"], delivery["attempts"]) == ("failed", 3)
    assert delivery["last_error"] == "HTTP 500 Internal Server Error"  # not the body
    assert monitor.deliver_once(datetime.now(UTC) + timedelta(days=1)) == []


def test_unreachable_receivers_are_retried(client: TestClient, monitor: Monitor) -> None:
    publish(client, sla_contract())
    register(client, "http://127.0.0.1:9/nothing-listens-here")
    _breaching(client, monitor)
    [attempt] = monitor.deliver_once()
    assert not attempt.delivered and attempt.status is None and attempt.error


def test_a_url_no_request_can_go_to_fails_its_attempts_and_holds_up_no_other(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    bad = register(client, receiver.url + "/bad")
    register(client, receiver.url + "/good")

    def unsendable(session: Session) -> None:  # stored before URLs were checked this way
        session.execute(
            sa.update(WebhookRow).where(WebhookRow.id == bad["id"]).values(url="http://a..b/h")
        )

    monitor.db.write(unsendable)
    _breaching(client, monitor)
    attempts = monitor.deliver_once()
    assert sorted((a.webhook_id, a.delivered) for a in attempts) == [
        (bad["id"], False),
        (bad["id"] + 1, True),
    ]
    [delivery] = client.get(f"/webhooks/{bad['id']}/deliveries").json()["items"]
    assert delivery["attempts"] == 1 and "UnicodeError" in delivery["last_error"]


def _queue(monitor: Monitor, webhook_id: int, count: int) -> list[int]:
    """`count` deliveries due now in the outbox of the webhook; their ids."""
    due = datetime.now(UTC) - timedelta(seconds=1)

    def work(session: Session) -> list[int]:
        rows = [
            WebhookDeliveryRow(
                webhook_id=webhook_id,
                event_id=f"test-{webhook_id}-{i}",
                event_type="sla.status_changed",
                body=f'{{"n": {i}}}',
                state="pending",
                next_attempt_at=due,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]

    return monitor.db.write(work)


def _deliveries(monitor: Monitor) -> dict[int, tuple[str, int, datetime]]:
    d = WebhookDeliveryRow
    rows = monitor.db.write(
        lambda session: session.execute(sa.select(d.id, d.state, d.attempts, d.next_attempt_at))
    )
    return {i: (state, attempts, due) for i, state, attempts, due in rows}


def test_no_webhook_goes_to_a_blocked_network_whatever_its_name_resolves_to(
    settings: Settings, receiver: Receiver
) -> None:
    guarded = create_app(replace(settings, webhook_blocked=("127.0.0.0/8", "::1/128")))
    with TestClient(guarded) as guarded_client:
        monitor: Monitor = guarded.state.monitor
        port = httpx.URL(receiver.url).port
        refused = guarded_client.post("/webhooks", json={"url": f"http://127.0.0.1:{port}/"})
        assert refused.status_code == 422 and "127.0.0.1" in error_of(refused)["message"]
        # A name is accepted, and checked at each send once resolved: never sent to.
        hook = register(guarded_client, f"http://localhost:{port}/hook")
        _queue(monitor, hook["id"], 1)
        [attempt] = monitor.deliver_once()
    assert not attempt.delivered and attempt.status is None
    assert attempt.error is not None and attempt.error.startswith("not sent: ")
    assert attempt.error.endswith(" is in a blocked network"), attempt.error
    assert receiver.requests == []


def test_blocked_networks() -> None:
    blocked = Settings(webhook_blocked=("10.0.0.0/8", "fe80::/10")).blocked_networks
    for address, verdict in (
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),  # IPv4 written as IPv6
        ("fe80::1%eth0", True),  # with a zone
        ("2002:a01:203::1", True),  # 6to4 of 10.1.2.3
        ("64:ff9b::a01:203", True),  # NAT64 of 10.1.2.3
        ("2002:b00:1::1", False),
        ("11.0.0.1", False),
        ("2001:db8::1", False),
        ("hooks.example.com", False),  # a name: checked once resolved
    ):
        assert webhooks.blocks(blocked, address) is verdict, address


def test_a_slow_receiver_holds_up_its_own_deliveries_only(
    client: TestClient, monitor: Monitor
) -> None:
    fast_done, waited = Event(), []
    arrived: dict[str, list[int]] = {"/slow": [], "/fast": []}

    class Receivers(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            arrived[self.path].append(int(self.headers["x-accord-delivery"]))
            if self.path == "/fast" and len(arrived["/fast"]) == 3:
                fast_done.set()
            if self.path == "/slow" and len(arrived["/slow"]) == 1:
                # The fast webhook's three are sent while this one is still answering.
                waited.append(fast_done.wait(10))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receivers)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        slow, fast = register(client, url + "/slow"), register(client, url + "/fast")
        slow_ids, fast_ids = _queue(monitor, slow["id"], 2), _queue(monitor, fast["id"], 3)
        attempts = monitor.deliver_once()
    finally:
        server.shutdown()
        server.server_close()
    assert waited == [True]
    assert [a.delivery_id for a in attempts] == sorted(slow_ids + fast_ids)
    assert all(a.delivered for a in attempts)
    # Each webhook's deliveries arrive in order.
    assert (arrived["/slow"], arrived["/fast"]) == (slow_ids, fast_ids)


def test_an_unreachable_receiver_gets_one_try_a_pass(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    down = register(client, "http://127.0.0.1:9/nothing-listens-here")
    up = register(client, receiver.url)
    first, second, third = _queue(monitor, down["id"], 3)
    delivered = _queue(monitor, up["id"], 2)
    due = _deliveries(monitor)
    attempts = monitor.deliver_once()
    assert [(a.delivery_id, a.delivered) for a in attempts] == [
        (first, False),
        *((i, True) for i in delivered),
    ]
    stored = _deliveries(monitor)
    assert stored[first][:2] == ("pending", 1)
    # The others were not sent: released unclaimed, due as they were, no attempt counted.
    assert [stored[i] for i in (second, third)] == [due[second], due[third]]
    assert due[second][:2] == ("pending", 0)
    # The next pass tries the next one (whether or not the first is due again by then).
    [again] = monitor.deliver_once()
    assert again.delivery_id == second and not again.delivered


def test_no_send_starts_late_in_a_pass(
    client: TestClient, monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(2)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(webhooks, "SENDING", 1.5)
    try:
        hook = register(client, f"http://127.0.0.1:{server.server_address[1]}/slow")
        first, *rest = _queue(monitor, hook["id"], 3)
        assert [a.delivery_id for a in monitor.deliver_once()] == [first]
    finally:
        server.shutdown()
        server.server_close()
    stored = _deliveries(monitor)
    assert stored[first][:2] == ("delivered", 1)
    assert [stored[i][:2] for i in rest] == [("pending", 0)] * 2
    locked = monitor.db.write(
        lambda session: list(session.scalars(sa.select(WebhookDeliveryRow.locked_until)))
    )
    assert locked == [None] * 3  # released, not left claimed


def test_webhooks_with_a_backlog_leave_room_for_the_others(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    # Four webhooks with 6 due each would fill a pass of 20 taken oldest first.
    busy = [register(client, f"{receiver.url}/busy{i}") for i in range(4)]
    backlogs = [_queue(monitor, hook["id"], 6) for hook in busy]
    other = register(client, receiver.url + "/other")
    later = _queue(monitor, other["id"], 1)  # newer than all of the backlogs
    attempts = monitor.deliver_once()
    assert all(a.delivered for a in attempts) and len(attempts) == 20
    sent = {a.delivery_id for a in attempts}
    assert set(later) <= sent  # every webhook's oldest first
    assert all(len(sent & set(backlog)) <= 5 for backlog in backlogs)  # 5 a webhook a pass


def test_retries_back_off_at_most_an_hour_however_many_attempts(
    settings: Settings, client: TestClient, receiver: Receiver
) -> None:
    patient: FastAPI = create_app(replace(settings, webhook_attempts=5000))
    with TestClient(patient) as patient_client:
        monitor: Monitor = patient.state.monitor
        publish(patient_client, sla_contract())
        register(patient_client, "http://127.0.0.1:9/nothing-listens-here")
        _breaching(patient_client, monitor)
        monitor.db.write(
            lambda session: session.execute(sa.update(WebhookDeliveryRow).values(attempts=1100))
        )
        [attempt] = monitor.deliver_once()  # 2**1100 seconds overflowed a float
        assert not attempt.delivered
        [due] = monitor.db.write(
            lambda session: list(session.scalars(sa.select(WebhookDeliveryRow.next_attempt_at)))
        )
        assert due - datetime.now(UTC) <= timedelta(hours=1)


def test_the_outbox_survives_a_restart(
    settings: Settings, client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    register(client, receiver.url)
    _breaching(client, monitor)  # queued, not sent
    restarted: FastAPI = create_app(settings)
    with TestClient(restarted):
        attempts = restarted.state.monitor.deliver_once()
    assert [a.delivered for a in attempts] == [True]
    assert len(receiver.requests) == 1


def test_two_processes_deliver_an_event_once(
    settings: Settings, client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    register(client, receiver.url)
    _breaching(client, monitor)
    other: FastAPI = create_app(settings)
    with TestClient(other):
        first = monitor.deliver_once()
        second = other.state.monitor.deliver_once()
    assert len(first) + len(second) == 1
    assert len(receiver.requests) == 1


def test_events_reach_the_webhooks_that_asked(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract("shop.orders", team="checkout"))
    publish(client, sla_contract("shop.payments", team="payments"))
    register(client, receiver.url + "/orders", contract="shop.orders")
    register(client, receiver.url + "/checkout", team="checkout")
    register(client, receiver.url + "/payments-team", team="payments")
    register(client, receiver.url + "/all")
    register(client, receiver.url + "/refusals", events=["contract.publish_refused"])
    _breaching(client, monitor, "shop.orders")
    monitor.deliver_once()
    assert sorted(r.path for r in receiver.requests) == [
        "/hook/all",
        "/hook/checkout",
        "/hook/orders",
    ]


def test_a_refused_publish_is_announced(
    client: TestClient, monitor: Monitor, receiver: Receiver
) -> None:
    publish(client, sla_contract())
    register(client, receiver.url, events=["contract.publish_refused"])
    client.post(
        "/contracts/shop.orders/consumers",
        json={"name": "billing", "team": "finance", "fields": ["note"]},
    )
    breaking = sla_contract(extra_required=("note",))
    response = client.post("/contracts/shop.orders/versions", json=breaking)
    assert response.status_code == 409
    monitor.deliver_once()
    [request] = receiver.requests
    event = request.json
    assert event["type"] == "contract.publish_refused" and event["team"] == "checkout"
    data = event["data"]
    assert data["mode"] == "BACKWARD" and data["checked_versions"] == [1]
    assert [c["type"] for c in data["breaking_changes"]] == ["REQUIRED_ATTRIBUTE_ADDED"]
    assert [c["name"] for c in data["affected_consumers"]] == ["billing"]


def test_breach_episodes_start_once_and_end_after_a_quiet_period(
    client: TestClient, settings: Settings, monitor: Monitor, receiver: Receiver
) -> None:
    quiet = 0.4
    watcher = Monitor(monitor.db, replace(settings, episode_quiet=quiet))
    publish(client, sla_contract())
    register(client, receiver.url, events=["breach.episode_started", "breach.episode_ended"])
    now = datetime.now(UTC)
    report(client, "consumer", breaches=[breach("shop.orders", now, count=3)])
    [started] = watcher.run_once().episode_changes
    assert (started.rule, started.number, started.started) == ("required", 1, True)
    # More of the same breach, and another look: the same episode, announced once.
    report(client, "consumer", breaches=[breach("shop.orders", now, count=2)])
    assert watcher.run_once().episode_changes == []
    time.sleep(quiet + 0.1)
    [ended] = watcher.run_once().episode_changes
    assert (ended.number, ended.started) == (1, False)
    assert watcher.run_once().episode_changes == []
    # Breaching again after the quiet period: episode 2.
    report(client, "consumer", breaches=[breach("shop.orders", now)])
    [again] = watcher.run_once().episode_changes
    assert (again.number, again.started) == (2, True)
    watcher.deliver_once()
    events = [(r.json["type"], r.json["data"]["episode"]) for r in receiver.requests]
    assert sorted(events) == [
        ("breach.episode_ended", 1),
        ("breach.episode_started", 1),
        ("breach.episode_started", 2),
    ]
    first = next(r.json["data"] for r in receiver.requests if r.json["data"]["episode"] == 1)
    assert first["kind"] == "schema" and first["sources"] == ["consumer"]
    assert first["breaches"] == 3 and first["samples"][0]["path"] == "/id"
    ended_event = next(
        r.json["data"] for r in receiver.requests if r.json["type"].endswith("ended")
    )
    assert ended_event["breaches"] == 5 and ended_event["ended_at"]


def _self_signed(directory: Path) -> ssl.SSLContext:
    """A server-side TLS context with a throwaway certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_receiver_trickling_its_status_line_is_cut_off_at_the_deadline(
    scheme: str, tmp_path: Path
) -> None:
    # A byte every 0.1 s: each read is well within the client's timeout, the whole never ends.
    release = Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1000:
                if release.wait(0.1):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client went away
                    return

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    if scheme == "https":  # the TLS socket takes the TCP one over: that one must be cut
        server.socket = _self_signed(tmp_path).wrap_socket(server.socket, server_side=True)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"{scheme}://127.0.0.1:{server.server_address[1]}/hook"
        started = time.monotonic()
        with httpx.Client(timeout=0.5, verify=False) as client:
            status, error = _send(client, 1, "test", "{}", url, "secret", deadline=1.0)
            took = time.monotonic() - started
            assert (status, error) == (None, "no answer within 1 s")
            assert 1.0 <= took < 5, took
            # The client's next send is cut off too: it has a connection of its own.
            assert _send(client, 2, "test", "{}", url, "secret", deadline=0.5)[1] == (
                "no answer within 0.5 s"
            )
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_receiver_trickling_its_answer_holds_no_delivery() -> None:
    # The status line comes at once, the body never: the send takes the status and goes.
    release = Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(503)
            self.send_header("content-length", "100")
            self.end_headers()
            self.wfile.flush()
            release.wait(10)  # the body would come only after the client's read timeout

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        with httpx.Client(timeout=0.5) as client:
            status, error = _send(client, 1, "test", "{}", url, "secret")
        assert (status, error) == (503, "HTTP 503 Service Unavailable")
    finally:
        release.set()
        server.shutdown()
        server.server_close()
