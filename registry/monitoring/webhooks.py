"""Webhooks: registration, signing, and the delivery worker over the outbox.

Each delivery is a row of `webhook_deliveries` (the outbox), written in the transaction
of the event it announces, so it survives restarts. A worker in every registry process
claims due rows with a conditional UPDATE (`locked_until`: the claim expires if the
process dies mid-send), POSTs them with httpx (each webhook's in order, several webhooks at
once: `deliver_due`) and records the outcome: 2xx is delivered;
anything else is retried after `backoff * 2^(attempt-1)` seconds (at most an hour) until
`attempts` attempts, then given up (`failed`).

Every request carries ``X-Accord-Signature: sha256=HEX``, the HMAC-SHA256 of the raw body
with the webhook's secret (stored sealed when ``ACCORD_SECRET_KEY`` is set: `sealing`), and
``X-Accord-Timestamp`` (Unix seconds of the attempt), ``X-Accord-Event`` (the event type) and
``X-Accord-Delivery`` (the delivery id).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.db import Database
from registry.monitoring.sealing import SecretSealer, UnsealError
from registry.tables import WebhookDeliveryRow, WebhookRow

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Attempt",
    "Networks",
    "blocked_host",
    "blocks",
    "deliver_due",
    "new_secret",
    "reseal_secrets",
    "sign",
    "verify",
]

log = logging.getLogger("registry")

SIGNATURE_HEADER = "X-Accord-Signature"
TIMESTAMP_HEADER = "X-Accord-Timestamp"
EVENT_HEADER = "X-Accord-Event"
DELIVERY_HEADER = "X-Accord-Delivery"
CLAIM = timedelta(seconds=60)
SEND_DEADLINE = 30.0  # seconds for one whole send, well inside the claim
MAX_DELAY = 3600.0
BATCH = 20  # deliveries claimed per pass
PER_WEBHOOK = 5  # of them at most of one webhook
SENDERS = 8  # webhooks whose deliveries are sent at once
SENDING = 5.0  # seconds into a pass after which no send starts


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The `X-Accord-Signature` value of `body`: ``sha256=`` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    webhook_id: int
    event_type: str
    delivered: bool
    status: int | None
    error: str | None


def _due(now: datetime) -> list[sa.ColumnElement[bool]]:
    d = WebhookDeliveryRow
    return [
        d.state == "pending",
        d.next_attempt_at <= now,
        sa.or_(d.locked_until.is_(None), d.locked_until < now),
    ]


_Claimed = tuple[int, int, str, str, str, str, bool, int]


def _claim(db: Database, now: datetime | None) -> tuple[datetime, list[_Claimed]]:
    """Claim up to BATCH due deliveries, at most PER_WEBHOOK of one webhook: when (`now`,
    else the time once the write lock is held: the claims last CLAIM from then), and what
    (id, webhook, event, body, url, stored secret, whether it is sealed, attempts)."""
    d, w = WebhookDeliveryRow, WebhookRow
    # Every due webhook's oldest before any webhook's second, so that a few receivers with
    # a backlog cannot fill every pass while the others' events wait. Chosen in a read: with
    # a large backlog the query reads every due row, and should not hold the write lock.
    ranked = (
        sa.select(
            d.id,
            d.next_attempt_at,
            sa.func.row_number()
            .over(partition_by=d.webhook_id, order_by=(d.next_attempt_at, d.id))
            .label("place"),
        )
        .where(*_due(now or datetime.now(UTC)))
        .subquery()
    )
    with db.reads() as session:
        candidates = list(
            session.scalars(
                sa.select(ranked.c.id)
                .where(ranked.c.place <= PER_WEBHOOK)
                .order_by(ranked.c.place, ranked.c.next_attempt_at, ranked.c.id)
                .limit(BATCH)
            )
        )

    def work(session: Session) -> tuple[datetime, list[_Claimed]]:
        at = now or datetime.now(UTC)
        claimed = []
        for delivery_id in candidates:  # each claimed only if still due and unclaimed
            result = session.execute(
                sa.update(d).where(d.id == delivery_id, *_due(at)).values(locked_until=at + CLAIM)
            )
            if getattr(result, "rowcount", 0):
                claimed.append(delivery_id)
        if not claimed:
            return at, []
        rows = session.execute(
            sa.select(d.id, d.webhook_id, d.event_type, d.body, w.url)
            .add_columns(w.secret, w.secret_sealed, d.attempts)
            .join(w, w.id == d.webhook_id)
            .where(d.id.in_(claimed))
            .order_by(d.next_attempt_at, d.id)
        ).all()
        return at, [tuple(row) for row in rows]

    if not candidates:
        return now or datetime.now(UTC), []
    return db.write(work)


Networks = tuple[IPv4Network | IPv6Network, ...]


def blocks(networks: Networks, address: str) -> bool:
    """Whether the IP `address` is in one of `networks` (an IPv4 address carried in IPv6
    counts as the IPv4 one); False for anything not an IP address."""
    try:
        ip = ip_address(address.partition("%")[0])  # without an IPv6 zone
    except ValueError:
        return False
    if isinstance(ip, IPv6Address):
        # IPv4 carried in IPv6: mapped (::ffff:a.b.c.d), 6to4 (2002:AABB:CCDD::) or the
        # well-known NAT64 prefix (64:ff9b::a.b.c.d), each reaching that IPv4 address.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = IPv4Address(int(ip) & 0xFFFFFFFF)
    return any(ip in network for network in networks)


_NAT64 = IPv6Network("64:ff9b::/96")


def blocked_host(networks: Networks, url: str) -> str | None:
    """The address `url` names, if it is in one of `networks`; None otherwise (a host name
    is checked at each send, once resolved)."""
    host = httpx.URL(url).host
    # An address in any form a resolver reads as one (2852039166, 0xa9fea9fe...); a name
    # raises here.
    with contextlib.suppress(OSError, UnicodeError, ValueError):
        host = str(socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)[0][4][0])
    return host if host and blocks(networks, host) else None


class _SendGuard:
    """Watches the connection of one send: refuses an address in a blocked network as soon
    as it is connected, before a byte is sent, and cuts the send off once `seconds` have
    passed in all.

    The address checked is the one connected to, after the name was resolved, so a name
    that resolves to another address at send time than when it was registered is checked
    too. httpx bounds each read, not the exchange: a receiver trickling its status line or
    its headers, a byte within each read timeout, could hold the worker (every delivery
    queued behind it, and this one's claim) for hours. The socket is caught as it connects
    (httpcore's ``trace``) and shut down when time is up, which ends a blocked read at once.
    """

    def __init__(self, seconds: float, blocked: Networks) -> None:
        self.passed = False
        self.refused: str | None = None  # the blocked address connected to
        self._blocked = blocked
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _SendGuard:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        # The TCP socket, then for https the TLS socket that takes it over (the TCP one is
        # detached then: shutting it down would do nothing). A proxy's events have their
        # own prefix.
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if event.endswith(".connect_tcp.complete") and self._blocked:
                    with contextlib.suppress(OSError):
                        peer = str(self._socket.getpeername()[0]) if self._socket else ""
                        if blocks(self._blocked, peer):
                            self.refused = peer
                if self.passed or self.refused:  # time ran out as it connected, or refused
                    self._shut()

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


def _send(
    client: httpx.Client,
    delivery_id: int,
    event: str,
    body: str,
    url: str,
    secret: str,
    deadline: float = SEND_DEADLINE,
    blocked: Networks = (),
) -> tuple[int | None, str | None]:
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "accord-registry",
        # A connection of its own per send, so that the guard holds its socket.
        "Connection": "close",
        SIGNATURE_HEADER: sign(secret, raw),
        TIMESTAMP_HEADER: str(int(time.time())),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }
    with _SendGuard(deadline, blocked) as guard:
        try:
            # Streamed, and closed unread: the status is the answer. A receiver that
            # trickles its body cannot hold the worker for as long as it likes.
            with client.stream(
                "POST", url, content=raw, headers=headers, extensions={"trace": guard.trace}
            ) as response:
                status = response.status_code
        except Exception as exc:  # a network error, or a URL no request can go to: an attempt
            if guard.refused:
                return None, f"not sent: {guard.refused} is in a blocked network"
            if guard.passed:
                return None, f"no answer within {deadline:g} s"
            return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= status < 300:
        return status, None
    # The status only: the body, or the server's reason phrase, may hold what a receiver
    # inside the network would show nobody else (whoever registers a webhook reads this).
    return status, f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()


def _execute(session: Session, statement: sa.Executable) -> None:
    session.execute(statement)


def _renew(db: Database, delivery_id: int, claimed: datetime, until: datetime) -> bool:
    """Extend this process's claim on a delivery to `until`; False if the claim is gone."""
    d = WebhookDeliveryRow

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(d)
            .where(d.id == delivery_id, d.locked_until == claimed)
            .values(locked_until=until)
        )
        return bool(getattr(result, "rowcount", 0))

    return db.write(work)


def deliver_due(
    db: Database,
    client: httpx.Client,
    *,
    sealer: SecretSealer,
    backoff: float,
    attempts: int,
    now: datetime | None = None,
    blocked: Networks = (),
) -> list[Attempt]:
    """Send deliveries that are due now (claimed first); what was attempted. None is sent to
    an address in one of the `blocked` networks.

    Each webhook's go oldest first, up to `SENDERS` webhooks at once, so that a slow
    receiver holds up its own deliveries in this pass only. A webhook's deliveries left
    unsent are released, due as they were, for the next pass: those after one whose
    receiver could not be reached (no status: a network error, the deadline), since one
    try a pass tells as much, and any not started within `SENDING` seconds of the claim, so
    that the claims last well past the sends.
    """
    claimed_at, claimed = _claim(db, now)
    if not claimed:
        return []
    started = time.monotonic()
    queues: dict[int, list[_Claimed]] = {}
    for delivery in claimed:
        queues.setdefault(delivery[1], []).append(delivery)

    def send_queue(queue: list[_Claimed]) -> list[Attempt]:
        out: list[Attempt] = []
        try:
            for i, delivery in enumerate(queue):
                if time.monotonic() - started > SENDING:
                    _release(db, [d[0] for d in queue[i:]], claimed_at + CLAIM)
                    break
                attempt = _attempt(
                    db, client, delivery, sealer, backoff, attempts, claimed_at, started, blocked
                )
                if attempt is None:
                    continue
                out.append(attempt)
                if attempt.status is None:  # not reached (no answer, or not sent)
                    _release(db, [d[0] for d in queue[i + 1 :]], claimed_at + CLAIM)
                    break
        except Exception:  # the database, say: the other webhooks' sends go on
            # The claims left lapse, and their deliveries are due again then.
            log.exception("webhook %d: delivery pass failed", queue[0][1])
        return out

    with ThreadPoolExecutor(min(SENDERS, len(queues)), "webhook-sender") as senders:
        sent = [a for done in senders.map(send_queue, queues.values()) for a in done]
    order = {delivery[0]: i for i, delivery in enumerate(claimed)}
    return sorted(sent, key=lambda a: order[a.delivery_id])


def _attempt(
    db: Database,
    client: httpx.Client,
    delivery: _Claimed,
    sealer: SecretSealer,
    backoff: float,
    attempts: int,
    claimed_at: datetime,
    started: float,
    blocked: Networks,
) -> Attempt | None:
    """Send one claimed delivery and record how it went; None if its claim lapsed first."""
    delivery_id, webhook_id, event, body, url, stored, sealed, tried = delivery
    d = WebhookDeliveryRow
    # Renewed before each send: the sends before it may have taken most of the claim, and
    # once it lapses another process may take the delivery (and send it too).
    mine = claimed_at + timedelta(seconds=time.monotonic() - started) + CLAIM
    if not _renew(db, delivery_id, claimed_at + CLAIM, mine):
        return None  # it lapsed and another process has it now
    status: int | None
    error: str | None
    try:
        secret = sealer.unseal(stored, sealed)
    except UnsealError as exc:  # an attempt that failed: retried, in case keys change
        status, error = None, f"cannot sign: {exc}"
    else:
        status, error = _send(client, delivery_id, event, body, url, secret, blocked=blocked)
    done = datetime.now(UTC)
    count = tried + 1
    values: dict[str, object] = {
        "attempts": count,
        "last_status": status,
        "last_error": error,
        "locked_until": None,
    }
    if error is None:
        values |= {"state": "delivered", "delivered_at": done}
    elif count >= attempts:
        values |= {"state": "failed"}
        log.warning("webhook %d: giving up on delivery %d: %s", webhook_id, delivery_id, error)
    else:
        delay = min(backoff * 2.0 ** min(count - 1, 32), MAX_DELAY)
        values |= {"next_attempt_at": done + timedelta(seconds=delay)}
        log.info(
            "webhook %d: delivery %d failed (%s); retry %d in %.1fs",
            webhook_id,
            delivery_id,
            error,
            count,
            delay,
        )
    # Only while still claimed: else the process that took it over records its own.
    update = sa.update(d).where(d.id == delivery_id, d.locked_until == mine).values(**values)
    db.write(partial(_execute, statement=update))
    return Attempt(delivery_id, webhook_id, event, error is None, status, error)


def _release(db: Database, delivery_ids: list[int], claimed: datetime) -> None:
    """Give up this pass's claim on deliveries not sent: due again as they were."""
    if not delivery_ids:
        return
    d = WebhookDeliveryRow
    update = (
        sa.update(d)
        .where(d.id.in_(delivery_ids), d.locked_until == claimed)
        .values(locked_until=None)
    )
    db.write(partial(_execute, statement=update))


def reseal_secrets(db: Database, sealer: SecretSealer) -> tuple[int, int]:
    """Seal every webhook secret with the first key: (resealed, left as they were because no
    key opens them). Nothing to do with no key."""
    if not sealer.enabled:
        return 0, 0

    def work(session: Session) -> tuple[int, int]:
        resealed = unopened = 0
        for row in session.scalars(sa.select(WebhookRow).order_by(WebhookRow.id)):
            if not sealer.needs_reseal(row.secret, row.secret_sealed):
                continue
            try:
                secret = sealer.unseal(row.secret, row.secret_sealed)
            except UnsealError as exc:
                log.error("webhook %d: %s; its deliveries cannot be signed", row.id, exc)
                unopened += 1
                continue
            row.secret, row.secret_sealed = sealer.seal(secret)
            resealed += 1
        return resealed, unopened

    return db.write(work)
