"""enforcers.registry_client.RegistryClient against a real registry over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from alembic import command

from contracts import CompatibilityMode, Contract
from enforcers.registry_client import RegistryClient, RegistryError
from registry.migrate import alembic_config
from tests.conftest import EXAMPLES
from tests.processes import free_port, running_registry
from tests.registry.conftest import small


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryClient]:
    folder = tmp_path_factory.mktemp("client")
    url = f"sqlite:///{folder / 'client.db'}"
    command.upgrade(alembic_config(url), "head")
    with running_registry(url, folder) as base_url, RegistryClient(base_url) as registry:
        yield registry


def test_publish_text_and_mappings(client: RegistryClient) -> None:
    text = (EXAMPLES / "orders.created.yaml").read_text()
    first = client.publish(text)
    assert (first.name, first.version, first.created) == ("orders.created", 1, True)
    again = client.publish(yaml.safe_load(text))
    assert again.created is False and again.id == first.id
    as_json = client.publish(json.dumps(yaml.safe_load(text)).encode())
    assert as_json.fingerprint == first.fingerprint


def test_get_version_revalidates_with_the_etag(client: RegistryClient) -> None:
    client.publish(small("client.events"))
    latest = client.get_version("client.events")
    assert latest.version == 1 and latest.status == "active"
    assert latest.contract == Contract.from_document(small("client.events"))
    assert client.get_version("client.events", "latest") is latest  # 304: the cached one
    client.publish(small("client.events", extra=("note",)))
    newer = client.get_version("client.events")
    assert newer.version == 2 and newer is not latest
    assert [v["version"] for v in client.list_versions("client.events")] == [1, 2]
    assert client.get_version("client.events", 1).version == 1


def test_check_compatibility_both_ways_of_calling(client: RegistryClient) -> None:
    client.publish(small("check.events"))
    breaking = small("check.events", extra=("note",), required=("id", "note"))
    report = client.check_compatibility("check.events", breaking)
    assert report.compatible is False and report.checked_versions == (1,)
    same = client.check_compatibility(breaking, mode=CompatibilityMode.NONE)
    assert same.compatible is True and same.mode is CompatibilityMode.NONE


def test_errors_carry_code_status_and_report(client: RegistryClient) -> None:
    client.publish(small("refused.events"))
    with pytest.raises(RegistryError) as refused:
        client.publish(small("refused.events", extra=("x",), required=("id", "x")))
    assert refused.value.status == 409 and refused.value.code == "incompatible"
    report = refused.value.report
    assert report is not None and not report.compatible
    assert report.breaking[0].path == "/schema/properties/x"

    with pytest.raises(RegistryError) as invalid:
        client.publish("name: bad.events\nowner: {team: t}\n")
    assert invalid.value.code == "invalid_contract" and invalid.value.status == 422
    assert any(p["path"] == "" for p in invalid.value.details)

    with pytest.raises(RegistryError) as missing:
        client.get_version("nope.events")
    assert missing.value.status == 404 and missing.value.code == "contract_not_found"

    with (
        RegistryClient(f"http://127.0.0.1:{free_port()}") as down,
        pytest.raises(RegistryError) as unreachable,
    ):
        down.list_versions("x.y")
    assert unreachable.value.code == "unreachable" and unreachable.value.status is None


def test_the_token_is_sent_stripped_and_a_malformed_one_is_never_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    sent: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("authorization"))
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})

    monkeypatch.setenv("ACCORD_TOKEN", "accord_abc_def\n")
    transport = httpx.MockTransport(answer)
    with (
        RegistryClient("http://registry", transport=transport) as client,
        pytest.raises(RegistryError),
    ):
        client.get_version("x.events")
    assert sent == ["Bearer accord_abc_def"]

    for token in ("tökén", "abc\ndef"):
        monkeypatch.setenv("ACCORD_TOKEN", token)
        with pytest.raises(RegistryError) as malformed:
            RegistryClient("http://registry")
        assert malformed.value.code == "invalid_token"
        assert "ACCORD_TOKEN is malformed" in malformed.value.message
        assert token.strip() not in malformed.value.message
    with pytest.raises(RegistryError, match="the token is malformed"):
        RegistryClient("http://registry", token="tökén")


def test_a_malformed_url_is_a_registry_error() -> None:
    with pytest.raises(RegistryError) as malformed:
        RegistryClient("http://[::1")
    assert malformed.value.code == "invalid_url" and "http://[::1" in malformed.value.message


def test_messages_never_show_a_password_of_the_url() -> None:
    client = RegistryClient("http://alice:s3cret@127.0.0.1:1", timeout=2)
    with client, pytest.raises(RegistryError) as unreachable:
        client.list_versions("x")
    assert unreachable.value.code == "unreachable"
    assert "s3cret" not in unreachable.value.message
    assert "127.0.0.1:1" in unreachable.value.message
