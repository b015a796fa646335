"""The pages of ``/ui``: contracts (search, health), a contract, a diff, breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from contracts import CompatibilityMode, Contract, Policy, format_duration
from contracts.compatibility import check_compatibility
from registry import compatibility
from registry.breaches import BreachFilters, BreachStore
from registry.errors import ContractNotFound, VersionNotFound
from registry.monitoring.queries import Health, contract_health, overall, sla_rows
from registry.routes.common import Db
from registry.store import ContractFilters, ContractStore
from registry.tables import BreachRow, ContractRow, VersionRow
from registry.ui import charts
from registry.ui.document import fields, side_by_side, to_yaml

__all__ = ["router", "static_files"]

router = APIRouter(prefix="/ui", include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _measure(value: float | None, rule: str) -> str:
    if value is None:
        return "-"
    if rule == "freshness":
        return format_duration(timedelta(seconds=round(max(value, 0))))
    if rule == "breach_rate":
        return f"{value:.4%}"
    return f"{value:g}"


ENV = Environment(
    loader=PackageLoader("registry.ui", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(ago=_ago, when=_when, measure=_measure)
ENV.globals.update(kind_colours=charts.KIND_COLOURS, ranges=list(charts.RANGES.values()))


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def _not_found(message: str) -> HTMLResponse:
    return _page("not_found.html", 404, title="Not found", message=message)


def _latest_documents(session: Session, names: list[str]) -> dict[str, dict[str, Any]]:
    if not names:
        return {}
    rows = session.execute(
        sa.select(ContractRow.name, VersionRow.document)
        .join(VersionRow, VersionRow.contract_id == ContractRow.id)
        .where(ContractRow.name.in_(names), VersionRow.version == ContractRow.latest_version)
    )
    return {name: orjson.loads(document) for name, document in rows}


@router.get("", response_class=HTMLResponse)
def contracts_page(db: Db, q: str | None = Query(None)) -> HTMLResponse:
    with db.reads() as session:
        store = ContractStore(session)
        rows, total = store.page(ContractFilters(text=q or None), 500, 0)
        tags = store.tags([r.id for r in rows])
        names = [r.name for r in rows]
        docs = _latest_documents(session, names)
        health = contract_health(
            session, names, {n: bool(docs.get(n, {}).get("sla")) for n in names}
        )
    return _page(
        "contracts.html",
        title="Contracts",
        nav="contracts",
        q=q or "",
        total=total,
        contracts=[(r, tags[r.id], health[r.name]) for r in rows],
    )


def _chart_samples(
    session: Session, since: datetime, contract: str | None = None, kind: str | None = None
) -> list[tuple[datetime, str, int]]:
    b = BreachRow
    query = sa.select(b.window_start, b.kind, b.count).where(b.window_start >= since)
    if contract:
        query = query.where(b.contract == contract)
    if kind:
        query = query.where(b.kind == kind)
    return [(start, k, count) for start, k, count in session.execute(query)]


@router.get("/contracts/{name}", response_class=HTMLResponse)
def contract_page(
    name: str,
    db: Db,
    version: int | None = Query(None, ge=1),
    range_: str | None = Query(None, alias="range"),
) -> HTMLResponse:
    now = datetime.now(UTC)
    chart_range = charts.range_of(range_)
    with db.reads() as session:
        store = ContractStore(session)
        try:
            row = store.contract(name)
            versions = store.versions(row)
            if not versions:
                raise VersionNotFound(f"contract {name!r} has no live version")
            shown = versions[-1]
            if version is not None:
                shown = store.version_row(row, version)
        except (ContractNotFound, VersionNotFound) as exc:
            return _not_found(str(exc))
        tags = store.tags([row.id])[row.id]
        consumers = store.consumers(row)
        checks, history = sla_rows(session, name, 20)
        samples = _chart_samples(session, now - chart_range.span, contract=name)
        breaches = BreachStore(session).summary(
            BreachFilters(contract=name, since=now - chart_range.span),
            limit=10,
            offset=0,
            interval=chart_range.bucket,
        )
    document = orjson.loads(shown.document)
    contract = Contract.from_document(document)
    sla_status = overall([c.status for c in checks], bool(document.get("sla")))
    return _page(
        "contract.html",
        title=name,
        nav="contracts",
        row=row,
        tags=tags,
        versions=versions,
        shown=shown,
        latest=versions[-1],
        contract=contract,
        document=document,
        yaml_text=to_yaml(document),
        fields=fields(contract),
        consumers=consumers,
        checks=checks,
        history=history,
        health=Health(sla_status, sum(n for _, _, n in samples)),
        sla_status=sla_status,
        chart=charts.bar_chart(samples, chart_range, now),
        chart_range=chart_range,
        breaches=breaches,
        now=now,
    )


@router.get("/contracts/{name}/diff", response_class=HTMLResponse)
def diff_page(
    name: str,
    db: Db,
    from_: int | None = Query(None, alias="from", ge=1),
    to: int | None = Query(None, ge=1),
) -> HTMLResponse:
    with db.reads() as session:
        store = ContractStore(session)
        try:
            row = store.contract(name)
            versions = store.versions(row)
            if not versions:
                raise VersionNotFound(f"contract {name!r} has no live version")
            numbers = [v.version for v in versions]
            new_number = to if to is not None else numbers[-1]
            old_number = from_
            if old_number is None:
                earlier = [n for n in numbers if n < new_number]
                old_number = earlier[-1] if earlier else new_number
            old = store.version_row(row, old_number)
            new = store.version_row(row, new_number)
        except (ContractNotFound, VersionNotFound) as exc:
            return _not_found(str(exc))
        consumers = tuple(compatibility.to_consumer(c) for c in store.consumers(row))
    old_doc, new_doc = orjson.loads(old.document), orjson.loads(new.document)
    assert row.mode is not None and row.policy is not None
    mode = CompatibilityMode(row.mode)
    # One pair of versions: the mode's direction, not its transitive reach.
    mode = CompatibilityMode(mode.value.removesuffix("_TRANSITIVE"))
    report = check_compatibility(
        Contract.from_document(new_doc),
        [(old.version, Contract.from_document(old_doc))],
        mode=mode,
        policy=Policy(row.policy),
        consumers=consumers,
    ).to_dict()
    return _page(
        "diff.html",
        title=f"{name}: v{old.version} → v{new.version}",
        nav="contracts",
        row=row,
        versions=versions,
        old=old,
        new=new,
        rows=side_by_side(to_yaml(old_doc), to_yaml(new_doc)),
        report=report,
        breaking=[c for c in report["changes"] if not c["compatible"]],
    )


@router.get("/breaches", response_class=HTMLResponse)
def breaches_page(
    db: Db,
    contract: str | None = Query(None),
    kind: str | None = Query(None),
    range_: str | None = Query(None, alias="range"),
) -> HTMLResponse:
    now = datetime.now(UTC)
    chart_range = charts.range_of(range_)
    since = now - chart_range.span
    with db.reads() as session:
        samples = _chart_samples(session, since, contract=contract or None, kind=kind or None)
        summary = BreachStore(session).summary(
            BreachFilters(contract=contract or None, kind=kind or None, since=since),
            limit=25,
            offset=0,
            interval=chart_range.bucket,
        )
        kinds = sorted(k for (k,) in session.execute(sa.select(BreachRow.kind).distinct()))
        names = sorted(n for (n,) in session.execute(sa.select(BreachRow.contract).distinct()))
    return _page(
        "breaches.html",
        title="Breaches",
        nav="breaches",
        chart=charts.bar_chart(samples, chart_range, now),
        chart_range=chart_range,
        summary=summary,
        contract=contract or "",
        kind=kind or "",
        kinds=kinds,
        names=names,
        now=now,
    )


@router.get("/", include_in_schema=False)
def slash() -> Response:
    return RedirectResponse("/ui", status_code=307)
