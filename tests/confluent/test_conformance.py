"""Confluent's 263 JSON Schema cases through ``POST /compatibility/...``: the same verdicts
as the library's `check_schemas`, and as Confluent's, under STRICT and LENIENT.

Each case registers its original schema under a subject configured BACKWARD with the
policy (Accord's `compatibilityPolicy` in ``PUT /config/{subject}``), then asks about the
update. One app over one SQLite file serves every case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from contracts import CompatibilityMode, Policy
from contracts.compatibility import check_schemas
from registry.app import create_app
from registry.migrate import alembic_config
from registry.settings import Settings
from tests.confluent.conftest import body
from tests.test_schema_conformance import CASES, Case, _data_missing


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("conformance") / "registry.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    with TestClient(create_app(Settings(database_url=url, auth=False))) as test_client:
        yield test_client


def _params() -> list[object]:
    if not CASES:
        return [pytest.param(None, id="conformance-data-missing")]
    return [pytest.param(i, case, id=case.id) for i, case in enumerate(CASES)]


@pytest.mark.parametrize(("index", "case"), _params())
def test_verdicts_equal_the_library_and_confluent(
    client: TestClient, index: int, case: Case | None
) -> None:
    if case is None:
        _data_missing()
        return
    subject = f"conformance-{index:03d}"
    for policy, expected in ((Policy.STRICT, case.strict), (Policy.LENIENT, case.lenient)):
        config = {"compatibility": "BACKWARD", "compatibilityPolicy": policy.value}
        assert client.put(f"/config/{subject}", json=config).status_code == 200
        if policy is Policy.STRICT:
            registered = client.post(f"/subjects/{subject}/versions", json=body(case.original))
            assert registered.status_code == 200, registered.text
        answer = client.post(
            f"/compatibility/subjects/{subject}/versions/latest?verbose=true",
            json=body(case.update),
        )
        assert answer.status_code == 200, answer.text
        verdict = answer.json()["is_compatible"]
        library = check_schemas(
            case.original, case.update, mode=CompatibilityMode.BACKWARD, policy=policy
        ).compatible
        assert verdict == library == expected, (policy, case.description, answer.json())


def test_every_case_ran() -> None:
    if not CASES:
        _data_missing()
    assert len(CASES) == 263
