"""Webhook secrets at rest: sealed under ACCORD_SECRET_KEY, unsealed to sign, keys rotated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.migrate import alembic_config
from registry.monitoring.sealing import SecretSealer, new_key
from registry.monitoring.webhooks import reseal_secrets, verify
from registry.settings import Settings
from registry.tables import WebhookRow
from tests.cli import accord
from tests.monitoring.conftest import (
    Receiver,
    observation,
    publish,
    register,
    report,
    sla_contract,
)

SECRET = "a-receiver's-shared-secret"
KEY_A, KEY_B, KEY_C = new_key(), new_key(), new_key()


@contextmanager
def running(settings: Settings, *keys: str) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(replace(settings, secret_keys=keys))
    with TestClient(app) as client:
        yield app, client


def hook_id(client: TestClient, url: str, **fields: Any) -> int:
    """Register a webhook; its id."""
    found: int = register(client, url, **fields)["id"]
    return found


def stored(app: FastAPI, webhook: int) -> tuple[str, bool]:
    with app.state.db.engine.connect() as connection:
        row = connection.execute(
            sa.select(WebhookRow.secret, WebhookRow.secret_sealed).where(WebhookRow.id == webhook)
        ).one()
    return row.secret, row.secret_sealed


def breach_and_deliver(app: FastAPI, client: TestClient) -> list[Any]:
    """A freshness breach of shop.orders, and one delivery round."""
    now = datetime.now(UTC)
    report(client, "consumer", observations=[observation("shop.orders", now, newest=now)])
    monitor = app.state.monitor
    monitor.run_once(now)
    monitor.run_once(now + timedelta(hours=1))
    attempts: list[Any] = monitor.deliver_once()
    return attempts


def signed_with(receiver: Receiver, secret: str, path: str | None = None) -> bool:
    """Whether the last request (to a URL ending in `path`) is signed with `secret`."""
    request = [r for r in receiver.requests if r.path.endswith(path or "")][-1]
    signature = {k.lower(): v for k, v in request.headers.items()}["x-accord-signature"]
    return verify(secret, request.body, signature)


def test_settings_read_keys_and_refuse_malformed_ones() -> None:
    settings = Settings.from_env({"ACCORD_SECRET_KEY": f" {KEY_A} ,{KEY_B}"})
    assert settings.secret_keys == (KEY_A, KEY_B)
    assert KEY_A not in repr(settings)
    assert Settings.from_env({}).secret_keys == ()
    for value, position in (("not-a-key", 1), (f"{KEY_A},{KEY_B[:-4]}", 2)):
        with pytest.raises(ValueError, match=f"ACCORD_SECRET_KEY: key {position} is not a Fernet"):
            Settings.from_env({"ACCORD_SECRET_KEY": value})


def test_secrets_are_sealed_at_rest_and_sign_deliveries(
    settings: Settings, receiver: Receiver
) -> None:
    with running(settings, KEY_A) as (app, client):
        publish(client, sla_contract())
        hook = hook_id(client, receiver.url + "/a", contract="shop.orders", secret=SECRET)
        longest = hook_id(client, receiver.url + "/longest", secret="x" * 255)
        text, sealed = stored(app, hook)
        assert sealed and SECRET not in text
        assert SecretSealer([KEY_A]).unseal(text, sealed) == SECRET
        assert stored(app, longest)[1]  # the longest secret's token fits its column
        attempts = breach_and_deliver(app, client)
        assert len(attempts) == 2 and all(a.delivered for a in attempts)
        assert signed_with(receiver, SECRET, "/a")
        assert signed_with(receiver, "x" * 255, "/longest")
        assert not signed_with(receiver, SECRET, "/longest")


def test_a_replaced_secret_is_sealed_too(settings: Settings, receiver: Receiver) -> None:
    with running(settings, KEY_A) as (app, client):
        publish(client, sla_contract())
        hook = hook_id(client, receiver.url, contract="shop.orders", secret=SECRET)
        new = client.patch(f"/webhooks/{hook}", json={"rotate_secret": True}).json()["secret"]
        text, sealed = stored(app, hook)
        assert sealed and new not in text
        assert SecretSealer([KEY_A]).unseal(text, sealed) == new
        assert [a.delivered for a in breach_and_deliver(app, client)] == [True]
        assert signed_with(receiver, new) and not signed_with(receiver, SECRET)


def test_without_a_key_secrets_are_stored_as_given(settings: Settings) -> None:
    with running(settings) as (app, client):
        hook = hook_id(client, "https://hooks.example.com/a", secret=SECRET)
        assert stored(app, hook) == (SECRET, False)


def test_reseal_seals_old_secrets_and_rotates_keys(settings: Settings, receiver: Receiver) -> None:
    with running(settings) as (app, client):
        publish(client, sla_contract())
        hook = hook_id(client, receiver.url, secret=SECRET)  # before any key was set
    with running(settings, KEY_A) as (app, client):
        assert reseal_secrets(app.state.db, app.state.monitor.sealer) == (1, 0)
        assert stored(app, hook)[1]
        assert reseal_secrets(app.state.db, app.state.monitor.sealer) == (0, 0)  # done
        sealed_with_a = stored(app, hook)[0]
    # A new key first: the old one still opens what it sealed, until reseal moves it over.
    with running(settings, KEY_B, KEY_A) as (app, client):
        assert reseal_secrets(app.state.db, app.state.monitor.sealer) == (1, 0)
        assert stored(app, hook)[0] != sealed_with_a
    with running(settings, KEY_B) as (app, client):
        assert [a.delivered for a in breach_and_deliver(app, client)] == [True]
        assert signed_with(receiver, SECRET)


def test_a_secret_no_key_opens_fails_its_attempts_until_the_key_is_back(
    settings: Settings, receiver: Receiver
) -> None:
    with running(settings, KEY_A) as (app, client):
        publish(client, sla_contract())
        hook = hook_id(client, receiver.url, secret=SECRET)
    with running(settings, KEY_C) as (app, client):
        assert reseal_secrets(app.state.db, app.state.monitor.sealer) == (0, 1)  # left as is
        [attempt] = breach_and_deliver(app, client)
        assert not attempt.delivered and attempt.status is None
        assert "sealed with a key not in ACCORD_SECRET_KEY" in (attempt.error or "")
        [delivery] = client.get(f"/webhooks/{hook}/deliveries").json()["items"]
        assert (delivery["state"], delivery["attempts"]) == ("pending", 1)
    with running(settings) as (app, client):
        app.state.monitor.deliver_once(_later())
        [delivery] = client.get(f"/webhooks/{hook}/deliveries").json()["items"]
        assert "ACCORD_SECRET_KEY is not set" in delivery["last_error"]
    with running(settings, KEY_C, KEY_A) as (app, client):
        [attempt] = app.state.monitor.deliver_once(_later())
        assert attempt.delivered and signed_with(receiver, SECRET)
    assert len(receiver.requests) == 1


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=2)


def test_a_downgrade_past_sealing_refuses_to_strand_sealed_secrets(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    settings = Settings(
        database_url=empty_database_url, auth=False, sla_interval=0, webhook_interval=0
    )
    with running(settings, KEY_A) as (_app, client):
        hook = hook_id(client, "https://hooks.example.com/a", secret=SECRET)
    with pytest.raises(RuntimeError, match=r"1 webhook\(s\) hold sealed secrets"):
        command.downgrade(config, "0005")
    with running(settings, KEY_A) as (_app, client):
        assert client.delete(f"/webhooks/{hook}").status_code == 204
    command.downgrade(config, "0005")
    command.upgrade(config, "head")


def test_the_cli_makes_keys_and_reseals(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'accord.db'}"
    made = accord("db", "new-key", env={})
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert Settings.from_env({"ACCORD_SECRET_KEY": key}).secret_keys == (key,)
    assert accord("db", "upgrade", env={"ACCORD_DATABASE_URL": url}).returncode == 0
    settings = Settings(database_url=url, auth=False, sla_interval=0, webhook_interval=0)
    with running(settings) as (app, client):
        hook = hook_id(client, "https://hooks.example.com/a", secret=SECRET)
    keyless = accord("db", "reseal", env={"ACCORD_DATABASE_URL": url, "ACCORD_SECRET_KEY": ""})
    assert keyless.returncode == 2 and "ACCORD_SECRET_KEY is not set" in keyless.stderr
    sealed = accord("db", "reseal", env={"ACCORD_DATABASE_URL": url, "ACCORD_SECRET_KEY": key})
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 1 webhook secret" in sealed.stderr
    with running(settings, key) as (app, _client):
        text, is_sealed = stored(app, hook)
        assert is_sealed and SecretSealer([key]).unseal(text, is_sealed) == SECRET
    other = new_key()
    lost = accord("db", "reseal", env={"ACCORD_DATABASE_URL": url, "ACCORD_SECRET_KEY": other})
    assert lost.returncode == 1 and "no longer in" in lost.stderr
    malformed = accord("db", "reseal", env={"ACCORD_DATABASE_URL": url, "ACCORD_SECRET_KEY": "x"})
    assert malformed.returncode == 2 and "key 1 is not a Fernet key" in malformed.stderr
