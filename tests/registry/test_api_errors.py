"""One error shape for everything, health and version, and the OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.errors import ERROR_CODES
from registry.migrate import head_revision
from registry.settings import Settings
from tests.conftest import REPO
from tests.registry.conftest import error_of


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = client.put("/contracts")
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


def test_request_validation_error_names_the_field(client: TestClient) -> None:
    response = client.post(
        "/contracts/x.y/consumers", content=b"[", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request" and error["details"]
    # Unreadable JSON names the body and where in it, not a character offset as a field.
    for body, message in (
        (b'{"name": "a"}garbage', "invalid body: not JSON: Extra data (line 1, column 14)"),
        (
            b'{\n  "name": "a",\n  "team": }',
            "invalid body: not JSON: Expecting value (line 3, column 11)",
        ),
        (b'{"name": "\xff"}', "invalid body: not UTF-8 (byte 10)"),
        (b"[" * 100_000, "invalid body: not readable JSON: nested too deeply"),
        (
            b'{"name": ' + b"1" * 5000 + b"}",
            "invalid body: not readable JSON: a number of more than 4300 digits",
        ),
    ):
        response = client.post(
            "/contracts/x.y/consumers", content=body, headers={"Content-Type": "application/json"}
        )
        error = error_of(response)
        assert (response.status_code, error["message"]) == (422, message)
        assert [d["field"] for d in error["details"]] == ["body"]


def test_unexpected_exception_is_a_logged_500_without_traceback(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_health_and_version(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}
    version = client.get("/version").json()
    assert version["name"] == "accord-registry" and version["schema_revision"] == head_revision()
    assert version["database"] in ("sqlite", "postgresql")


def test_unreachable_database_is_503() -> None:
    app = create_app(
        Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none", auth=False)
    )
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert error_of(health)["code"] == "database_unavailable"
        listing = client.get("/contracts")
        assert listing.status_code == 503
        assert error_of(listing)["code"] == "database_unavailable"


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert client.get("/docs").status_code == 200
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    monitoring = ("/webhooks", "/metrics", "/contracts/{name}/sla")  # tests/monitoring
    security = ("/audit", "/auth/")  # tests/security
    others = monitoring + security
    assert len([o for o in operations if not o[0].startswith(others)]) == 20
    for path, method, op in operations:
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (path, method)
        errors = [s for s in op["responses"] if s[0] in "45"]
        assert errors, f"{method} {path} documents no error response"
        for status in errors:
            if status != "422" or "ErrorResponse" in str(op["responses"][status]):
                continue
            raise AssertionError(f"{method} {path}: 422 is not the error model")
    publish = spec["paths"]["/contracts/{name}/versions"]["post"]
    assert {"application/json", "application/yaml"} <= set(publish["requestBody"]["content"])


def test_error_codes_are_snake_case() -> None:
    for code, (status, doc) in ERROR_CODES.items():
        assert code == code.lower() and " " not in code and 400 <= status < 600 and doc


def test_readme_lists_every_error_code() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [code for code in ERROR_CODES if f"`{code}`" not in readme]
    assert not missing, f"error codes not in the README: {missing}"
