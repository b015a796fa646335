"""`accord serve` (a real process), `accord publish` and `accord db`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from registry.migrate import head_revision
from registry.tables import BreachRow
from tests.cli import accord
from tests.conftest import EXAMPLE_FILES, EXAMPLES
from tests.processes import free_port, running_registry


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`accord serve --load-examples` on a fresh SQLite file (migrated by serve itself)."""
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'accord.db'}"
    with running_registry(url, folder, "--load-examples") as base_url:
        yield base_url


def test_serve_migrates_and_loads_the_examples(registry_url: str) -> None:
    listed = httpx.get(f"{registry_url}/contracts").json()
    assert listed["total"] == len(EXAMPLE_FILES) == 3
    assert all(c["latest_version"] == 1 for c in listed["items"])


def test_publish_examples_again_is_idempotent(registry_url: str) -> None:
    result = accord("publish", *map(str, EXAMPLE_FILES), "--registry", registry_url)
    assert result.returncode == 0, result.stderr
    assert f"{EXAMPLES / 'orders.created.yaml'}: orders.created version 1 (existing)" in (
        result.stdout
    )
    assert result.stdout.count("(existing)") == 3


def test_publish_new_and_incompatible_versions(registry_url: str, tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "orders.created.yaml").read_text())
    doc["schema"]["properties"]["gift_wrap"] = {"type": "boolean"}
    added = tmp_path / "added.yaml"
    added.write_text(yaml.safe_dump(doc))
    created = accord("publish", str(added), env={"ACCORD_REGISTRY_URL": registry_url})
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"{added}: orders.created version 2 (created)"

    del doc["schema"]["properties"]["coupon_code"]
    del doc["quality"][1]  # it names coupon_code
    removed = tmp_path / "removed.yaml"
    removed.write_text(yaml.safe_dump(doc))
    refused = accord("publish", str(removed), "--registry", registry_url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert str(removed) in refused.stderr and "incompatible" in refused.stderr
    assert "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL /schema/properties/coupon_code" in (
        refused.stderr
    )


def test_publish_input_errors_name_the_file_and_path(registry_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: demo.events\nowner: {team: demo}\ndescripton: typo\nschema: {}\n")
    result = accord("publish", str(bad), "--registry", registry_url)
    assert result.returncode == 2
    assert f"{bad}:3: error: /descripton: unknown key" in result.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = accord("publish", str(broken), "--registry", registry_url)
    assert result.returncode == 2 and str(broken) in result.stderr

    missing = accord("publish", str(tmp_path / "nope.yaml"), "--registry", registry_url)
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr

    # A good file and a bad one: the good one is published, the exit code is the worst.
    mixed = accord("publish", str(EXAMPLE_FILES[0]), str(bad), "--registry", registry_url)
    assert mixed.returncode == 2 and "(existing)" in mixed.stdout


def test_publish_to_an_unreachable_registry(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = accord("publish", str(EXAMPLE_FILES[0]), "--registry", url)
    assert result.returncode == 2
    assert "cannot reach the registry" in result.stderr and str(EXAMPLE_FILES[0]) in result.stderr


def test_publish_to_something_that_is_not_a_registry(tmp_path: Path) -> None:
    # A proxy's login page, another service: HTML with status 200.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Page(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b"<html>please log in</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = accord("publish", str(EXAMPLE_FILES[0]), "--registry", url)
    finally:
        server.shutdown()
    assert result.returncode == 2, result.stderr
    assert "not an answer of an Accord registry" in result.stderr
    assert "[invalid_response]" in result.stderr and "Traceback" not in result.stderr


def test_token_lifetimes_out_of_range_are_input_errors(tmp_path: Path) -> None:
    env = {"ACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'tokens.db'}"}
    assert accord("db", "upgrade", env=env).returncode == 0
    for expires, message in (("99999999d", "beyond the year 9999"), ("P0D", "some time")):
        result = accord(
            "token", "create", "--role", "producer", "--team", "t", "--expires", expires, env=env
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_db_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"ACCORD_DATABASE_URL": url}

    def tables() -> set[str]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        finally:
            engine.dispose()

    up = accord("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert f"revision {head_revision()}" in up.stdout and "breaches" in tables()
    down = accord("db", "downgrade", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert "base (empty)" in down.stdout and tables() == set()
    assert accord("db", "upgrade", "head", env=env).returncode == 0
    assert "contract_versions" in tables()

    unknown = accord("db", "upgrade", "nonsense", env=env)
    assert unknown.returncode == 2 and "nonsense" in unknown.stderr
    bad_url = accord("db", "upgrade", env={"ACCORD_DATABASE_URL": "mysql://x/y"})
    assert bad_url.returncode == 2 and "ACCORD_DATABASE_URL" in bad_url.stderr


def test_db_prune_deletes_reports_older_than_the_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prune.db'}"
    env = {"ACCORD_DATABASE_URL": url}
    assert accord("db", "upgrade", env=env).returncode == 0
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for report_id, age in (("old", 100), ("recent", 10)):
                at = datetime.now(UTC) - timedelta(days=age)
                connection.execute(
                    sa.insert(BreachRow).values(
                        report_id=report_id,
                        source="s",
                        contract="c",
                        version=1,
                        window_start=at,
                        window_end=at + timedelta(minutes=1),
                        received_at=at,
                        kind="schema",
                        rule="required",
                        severity="error",
                        count=1,
                        first_seen=at,
                        last_seen=at,
                        samples=[],
                    )
                )

        def kept() -> list[str]:
            with engine.connect() as connection:
                return sorted(connection.scalars(sa.select(BreachRow.report_id)))

        default = accord("db", "prune", env=env)  # 90 days
        assert default.returncode == 0, default.stderr
        assert "older than 90 days: breach reports 1," in default.stdout
        assert kept() == ["recent"]
        forever = accord("db", "prune", env=env | {"ACCORD_RETENTION_DAYS": "0"})
        assert "everything is kept" in forever.stdout and kept() == ["recent"]
        assert "breach reports 1," in accord("db", "prune", "--days", "7", env=env).stdout
        assert kept() == []
        for args, extra, named in (
            ((), {"ACCORD_RETENTION_DAYS": "a week"}, "ACCORD_RETENTION_DAYS"),
            ((), {"ACCORD_RETENTION_DAYS": "99999999"}, "ACCORD_RETENTION_DAYS must be 0 to"),
            (("--days", "0"), {}, "--days"),
            (("--days", "99999999"), {}, "--days: at most 36500"),
        ):
            refused = accord("db", "prune", *args, env=env | extra)
            assert refused.returncode == 2, refused.stdout
            assert named in refused.stderr, refused.stderr
    finally:
        engine.dispose()


def test_db_prune_on_a_database_never_migrated(tmp_path: Path) -> None:
    env = {"ACCORD_DATABASE_URL": "sqlite:///fresh.db"}
    result = accord("db", "prune", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "does not exist: run `accord db upgrade` first" in result.stderr
    assert not (tmp_path / "fresh.db").exists()  # not created empty by connecting to it

    sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}").connect().close()
    env = {"ACCORD_DATABASE_URL": "sqlite:///empty.db"}
    result = accord("db", "prune", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    expected = f"is at revision none, not {head_revision()}: run `accord db upgrade` first"
    assert expected in result.stderr
    assert "no such table" not in result.stderr


def test_publish_exits_1_only_when_the_change_is_refused(registry_url: str) -> None:
    # A wrong route (a typo in the URL), like a rate limit, is not a verdict on the contract.
    result = accord("publish", str(EXAMPLE_FILES[0]), "--registry", f"{registry_url}/nope")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "[not_found]" in result.stderr


def test_publish_with_a_malformed_registry_url_or_token(registry_url: str) -> None:
    bad_url = accord("publish", str(EXAMPLE_FILES[0]), "--registry", "http://[::1")
    assert bad_url.returncode == 2, bad_url.stderr
    assert "--registry: invalid registry URL 'http://[::1'" in bad_url.stderr
    assert "Traceback" not in bad_url.stderr

    env = {"ACCORD_REGISTRY_URL": registry_url}
    for token in ("tökén-secret", "accord_abc\x07secret"):
        result = accord("publish", str(EXAMPLE_FILES[0]), env=env | {"ACCORD_TOKEN": token})
        assert result.returncode == 2, result.stdout + result.stderr
        assert "ACCORD_TOKEN is malformed" in result.stderr
        assert "secret" not in result.stderr and "Traceback" not in result.stderr
    # `$(cat token-file)` and the like keep a newline: it is not part of the token.
    newline = accord("publish", str(EXAMPLE_FILES[0]), env=env | {"ACCORD_TOKEN": "abc\n"})
    assert newline.returncode == 0, newline.stderr


def test_serve_refuses_a_port_out_of_range() -> None:
    # The database URL stops a serve that took the port before it listens on anything.
    env = {"ACCORD_DATABASE_URL": "mysql://x/y"}
    for port in ("0", "99999"):
        result = accord("serve", "--port", port, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "--port" in result.stderr
