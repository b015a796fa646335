"""ODCS v3 documents on the registry: published as contracts, any version read back as ODCS."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient
from jsonschema import Draft201909Validator

import schemas
from tests.conftest import REPO
from tests.registry.conftest import error_of, example

ODCS = REPO / "tests" / "data" / "odcs"


def test_publish_odcs_yaml_and_read_back(client: TestClient) -> None:
    text = (ODCS / "single.odcs.yaml").read_text()
    name = yaml.safe_load(text)["schema"][0]["name"]
    published = client.post(
        f"/contracts/{name}/versions", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert published.status_code == 201, published.text
    native = client.get(f"/contracts/{name}/versions/1").json()
    assert native["contract"]["name"] == name
    # The same ODCS document again is the same version.
    again = client.post(
        f"/contracts/{name}/versions?format=odcs",
        content=text,
        headers={"Content-Type": "application/yaml"},
    )
    assert again.status_code == 200 and again.json()["version"] == 1


def test_any_version_as_odcs(client: TestClient) -> None:
    assert client.post("/contracts/orders.created/versions", json=example()).status_code == 201
    as_json = client.get("/contracts/orders.created/versions/1?format=odcs")
    assert as_json.status_code == 200
    document = as_json.json()
    assert document["apiVersion"].startswith("v3") and document["version"] == "1"
    Draft201909Validator(schemas.load("odcs-v3")).validate(document)
    as_yaml = client.get(
        "/contracts/orders.created/versions/latest?format=odcs",
        headers={"Accept": "application/yaml"},
    )
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == document
    assert (
        as_json.headers["etag"]
        != client.get("/contracts/orders.created/versions/1").headers["etag"]
    )


def test_odcs_errors_are_located(client: TestClient) -> None:
    response = client.post(
        "/contracts/x.y/versions?format=odcs",
        content="apiVersion: v3.0.0\nkind: DataContract\n",
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_contract"
    assert client.get("/contracts/x.y").status_code == 404  # nothing stored
