"""Fuzzing: schemathesis generates requests for every operation of ``/openapi.json`` and
sends each as an admin, as a reader and without credentials, to the ASGI app (auth on).
No answer may be a 5xx, and every answer must be one the document promises: its status,
content type and body schema. Bounded: a few examples per operation (slow: runs in CI).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from alembic import command
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode, checks

from registry.app import create_app
from registry.migrate import alembic_config
from tests.security.conftest import bearer, contract_doc, make_token, secure_settings

EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

_tokens: dict[str, str] = {}

# The app is made at import (schemathesis reads its /openapi.json then, which touches no
# database); the fixture below migrates and seeds its database before the first call.
_FOLDER = Path(tempfile.mkdtemp(prefix="accord-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_URL = f"sqlite:///{_FOLDER / 'registry.db'}"
_APP = create_app(secure_settings(_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
# Valid requests and invalid ones (wrong types, missing fields, out-of-range values).
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(scope="module")
def seeded() -> None:
    command.upgrade(alembic_config(_URL), "head")
    _tokens.update(admin=make_token(_URL, "admin"), reader=make_token(_URL, "reader"))
    with TestClient(_APP) as client:  # something to read, so reads are not all 404s
        for name in ("orders.created", "demo.events"):
            r = client.post(
                f"/contracts/{name}/versions",
                json=contract_doc(name),
                headers=bearer(_tokens["admin"]),
            )
            assert r.status_code == 201, r.text


@pytest.mark.slow
@pytest.mark.timeout(1800)
@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_with_and_without_credentials(case: Any, seeded: None) -> None:
    for headers in (bearer(_tokens["admin"]), bearer(_tokens["reader"]), {}):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
