"""``/contracts/{name}/sla``, ``/webhooks`` and ``/metrics``."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from registry.errors import InvalidRequest, WebhookNotFound
from registry.http_errors import error_responses
from registry.monitoring import metrics, webhooks
from registry.monitoring.models import (
    SlaCheck,
    SlaEvent,
    SlaReport,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
    WebhookUpdated,
)
from registry.monitoring.queries import overall, sla_document, sla_rows
from registry.monitoring.sealing import SecretSealer
from registry.routes.common import Db
from registry.store import ContractReader, ContractStore
from registry.tables import WebhookDeliveryRow, WebhookRow

__all__ = ["router"]

router = APIRouter(tags=["monitoring"])


async def _sealer(request: Request) -> SecretSealer:
    sealer: SecretSealer = request.app.state.monitor.sealer
    return sealer


Sealer = Annotated[SecretSealer, Depends(_sealer)]


async def _blocked(request: Request) -> webhooks.Networks:
    blocked: webhooks.Networks = request.app.state.monitor.blocked
    return blocked


Blocked = Annotated[webhooks.Networks, Depends(_blocked)]


def _check_url(url: str | None, blocked: webhooks.Networks) -> None:
    """InvalidRequest when `url` names an address in a blocked network."""
    host = webhooks.blocked_host(blocked, url) if url else None
    if host is not None:
        raise InvalidRequest(
            f"url: {host} is in a network webhooks may not be sent to "
            "(ACCORD_WEBHOOK_BLOCKED_NETWORKS)",
            [{"field": "body.url"}],
        )


@router.get(
    "/contracts/{name}/sla",
    response_model=SlaReport,
    summary="SLA status and history of a contract",
    responses=error_responses(404),
)
def contract_sla(
    name: str,
    db: Db,
    history: Annotated[int, Query(ge=0, le=1000, description="Status changes to list.")] = 50,
) -> SlaReport:
    """The status of every SLA check (freshness, volume, breach_rate) of every source that
    reports on the contract, as the last evaluation left it, and the changes of status."""
    with db.reads() as session:
        row = ContractStore(session).contract(name)
        sla = None
        if row.latest_version is not None:
            stored = ContractReader(session.connection()).version(name, row.latest_version)
            sla = sla_document(stored.document)
        checks, events = sla_rows(session, name, history)
    return SlaReport(
        name=name,
        version=row.latest_version,
        sla=sla,
        status=overall([c.status for c in checks], sla is not None),  # type: ignore[arg-type]
        checks=[SlaCheck.model_validate(c, from_attributes=True) for c in checks],
        history=[SlaEvent.model_validate(e, from_attributes=True) for e in events],
    )


# -- webhooks -------------------------------------------------------------------------------


def _out(row: WebhookRow) -> WebhookOut:
    return WebhookOut.model_validate(row, from_attributes=True)


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    summary="Register a webhook",
    responses=error_responses(422),
)
def create_webhook(hook: WebhookIn, db: Db, sealer: Sealer, blocked: Blocked) -> WebhookCreated:
    """Events of one contract (`contract`), of the contracts one team owns (`team`), or of
    all: breach episodes, SLA status changes, refused publishes. The response carries the
    signing secret; it is never shown again."""
    _check_url(hook.url, blocked)
    secret = hook.secret or webhooks.new_secret()
    stored, sealed = sealer.seal(secret)

    def work(session: Session) -> WebhookCreated:
        row = WebhookRow(
            url=hook.url,
            secret=stored,
            secret_sealed=sealed,
            contract=hook.contract,
            team=hook.team,
            events=hook.events,
            description=hook.description,
        )
        session.add(row)
        session.flush()
        return WebhookCreated(**_out(row).model_dump(), secret=secret)

    return db.write(work)


@router.get(
    "/webhooks", response_model=WebhookList, summary="List webhooks", responses=error_responses()
)
def list_webhooks(
    db: Db,
    contract: str | None = Query(None, description="Only webhooks of this contract."),
    team: str | None = Query(None, description="Only webhooks of this team."),
) -> WebhookList:
    query = sa.select(WebhookRow).order_by(WebhookRow.id)
    if contract is not None:
        query = query.where(WebhookRow.contract == contract)
    if team is not None:
        query = query.where(WebhookRow.team == team)
    with db.reads() as session:
        return WebhookList(items=[_out(row) for row in session.scalars(query)])


def _webhook(session: Session, webhook_id: int) -> WebhookRow:
    row = session.get(WebhookRow, webhook_id)
    if row is None:
        raise WebhookNotFound(f"webhook {webhook_id} not found", {"id": webhook_id})
    return row


@router.get(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    summary="Read a webhook",
    responses=error_responses(404),
)
def get_webhook(webhook_id: int, db: Db) -> WebhookOut:
    with db.reads() as session:
        return _out(_webhook(session, webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookUpdated,
    summary="Change a webhook or replace its signing secret",
    responses=error_responses(404),
)
def update_webhook(
    webhook_id: int, change: WebhookUpdate, db: Db, sealer: Sealer, blocked: Blocked
) -> WebhookUpdated:
    """The fields given replace the stored ones. A new secret (`secret`, or one generated
    with `rotate_secret`) signs every delivery attempt from now on, pending retries
    included, and is returned in this response only. Deliveries already queued keep going
    to the webhook, to its new `url`."""
    _check_url(change.url, blocked)
    fields = change.model_dump(exclude_unset=True, exclude={"secret", "rotate_secret"})
    secret = change.secret or (webhooks.new_secret() if change.rotate_secret else None)
    sealed = sealer.seal(secret) if secret is not None else None

    def work(session: Session) -> WebhookUpdated:
        row = _webhook(session, webhook_id)
        for name, value in fields.items():
            setattr(row, name, value)
        if sealed is not None:
            row.secret, row.secret_sealed = sealed
        session.flush()
        return WebhookUpdated(**_out(row).model_dump(), secret=secret)

    return db.write(work)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a webhook (and its pending deliveries)",
    responses=error_responses(404),
)
def delete_webhook(webhook_id: int, db: Db) -> Response:
    def work(session: Session) -> None:
        row = _webhook(session, webhook_id)
        session.execute(
            sa.delete(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == row.id)
        )
        session.delete(row)

    db.write(work)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=WebhookDeliveryList,
    summary="Recent deliveries of a webhook",
    responses=error_responses(404),
)
def webhook_deliveries(
    webhook_id: int,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WebhookDeliveryList:
    """The newest deliveries first: state (pending, delivered, failed), attempts, the last
    response status or error."""
    with db.reads() as session:
        _webhook(session, webhook_id)
        rows = session.scalars(
            sa.select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.webhook_id == webhook_id)
            .order_by(WebhookDeliveryRow.id.desc())
            .limit(limit)
        )
        items = [WebhookDelivery.model_validate(r, from_attributes=True) for r in rows]
    return WebhookDeliveryList(items=items)


# -- Prometheus -----------------------------------------------------------------------------


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Text exposition format."},
        **error_responses(),
    },
)
def prometheus_metrics(db: Db) -> Response:
    """Breaches, records validated, SLA status, breach episodes and the webhook outbox
    (from the database), and HTTP, publish and check counts and latency (per process, or
    summed over the workers of ``accord serve --workers N``)."""
    return Response(metrics.render(db), media_type=metrics.CONTENT_TYPE_LATEST)
