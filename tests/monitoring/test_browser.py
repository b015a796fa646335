"""The web UI in a real browser: headless Chromium from the OS package (never a downloaded
build), driven by Playwright, against `accord serve` in a subprocess. Every page visited
is saved as a screenshot under ``test-artifacts/ui/``."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import EXAMPLES, REPO
from tests.processes import running_registry

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "test-artifacts" / "ui"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("ui")
    database = f"sqlite:///{folder / 'registry.db'}"
    with running_registry(database, folder, "--load-examples") as url:
        # A second version of orders.created, compatible, to compare with the first.
        doc: dict[str, Any] = yaml.safe_load((EXAMPLES / "orders.created.yaml").read_text())
        doc["description"] += " Carries an optional gift message since v2."
        doc["schema"]["properties"]["gift_message"] = {"type": "string", "maxLength": 500}
        doc["tags"] = [*doc["tags"], "gifts"]
        published = httpx.post(f"{url}/contracts/orders.created/versions", json=doc)
        assert published.status_code == 201, published.text
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = "no /usr/bin/chromium: `make browser` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests, never skip them
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_list_and_search(registry: str, page: Any) -> None:
    page.goto(f"{registry}/ui")
    rows = page.locator("tr.contract-row")
    assert rows.count() == 3
    assert page.locator("tr[data-name='orders.created'] .badge").inner_text() == "no data"
    shot(page, "01-contracts")
    page.fill("input[name=q]", "settle")
    page.click("form.search button")
    page.wait_for_url(re.compile(r"q=settle"))
    assert [r.get_attribute("data-name") for r in rows.all()] == ["payments.settled"]
    shot(page, "02-search")


def test_contract_and_diff(registry: str, page: Any) -> None:
    page.goto(f"{registry}/ui")
    page.click("a.name:text('orders.created')")
    page.wait_for_url(f"{registry}/ui/contracts/orders.created")
    assert page.locator("h1").inner_text().startswith("orders.created")
    assert page.locator("#versions tbody tr").count() == 2
    assert page.locator("#schema").get_by_text("gift_message").count() == 1
    shot(page, "03-contract")
    page.select_option("#versions select[name=from]", "1")
    page.select_option("#versions select[name=to]", "2")
    page.click("#versions form.compare button")
    page.wait_for_url(re.compile(r"/diff\?from=1&to=2"))
    assert page.locator("#report h2").inner_text().startswith("Compatible under BACKWARD")
    assert page.locator("table.diff tr.insert, table.diff tr.replace").count() >= 2
    assert page.locator("#report tbody tr").count() >= 2  # the schema change and the tags
    shot(page, "04-diff")


def test_breaches_appear_on_the_chart(registry: str, page: Any) -> None:
    page.goto(f"{registry}/ui/contracts/payments.settled")
    assert page.locator("svg.chart rect.bar").count() == 0
    now = datetime.now(UTC).replace(microsecond=0)
    batch_id = uuid.uuid4().hex
    body = {
        "source": "settlements-consumer",
        "breaches": [
            {
                "id": f"{batch_id}:{index}",
                "contract": "payments.settled",
                "version": 1,
                "kind": kind,
                "rule": rule,
                "window_start": (now - timedelta(hours=hours)).isoformat(),
                "window_end": (now - timedelta(hours=hours) + timedelta(minutes=1)).isoformat(),
                "count": count,
                "first_seen": (now - timedelta(hours=hours)).isoformat(),
                "last_seen": (now - timedelta(hours=hours)).isoformat(),
                "samples": [{"path": "/amount", "message": message, "record": {"amount": -5}}],
            }
            for index, (kind, rule, hours, count, message) in enumerate(
                [
                    ("schema", "minimum", 0, 12, "-5 is less than the minimum of 0"),
                    ("rule", "settled_after_created", 3, 4, "rule failed"),
                    ("schema", "required", 7, 9, "'currency' is a required property"),
                ]
            )
        ],
    }
    assert httpx.post(f"{registry}/breaches", json=body).status_code == 200
    page.reload()
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() == 3
    counts = sorted(int(b.get_attribute("data-count")) for b in bars.all())
    assert counts == [4, 9, 12]
    assert page.locator("#breaches").get_by_text("-5 is less than the minimum of 0").count() == 1
    assert page.locator("h1 .badge").inner_text() == "warning"
    shot(page, "05-contract-breaches")
    page.click("header nav a:text('Breaches')")
    page.wait_for_url(f"{registry}/ui/breaches")
    assert page.locator("svg.chart rect.bar").count() == 3
    assert page.locator("tr.breach-row").count() == 3
    shot(page, "06-breaches")
