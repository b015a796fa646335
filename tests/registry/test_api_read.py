"""Reading: search with filters and pages, versions, latest, ETags."""

from __future__ import annotations

from fastapi.testclient import TestClient

from contracts import Contract
from tests.registry.conftest import error_of, small


def _publish(client: TestClient, doc: dict[str, object]) -> dict[str, object]:
    response = client.post(f"/contracts/{doc['name']}/versions", json=doc)
    assert response.status_code in (200, 201), response.text
    body: dict[str, object] = response.json()
    return body


def test_list_filters_and_pages(client: TestClient) -> None:
    _publish(client, small("pay.settled", tags=["money", "tier-1"]))
    _publish(client, small("pay.refunded", tags=["money"], status="deprecated"))
    _publish(client, small("ship.sent", owner={"team": "logistics"}, tags=["tier-1"]))
    _publish(
        client,
        small("ship.lost", owner={"team": "logistics"}, description="Parcels 100% gone_away"),
    )

    page = client.get("/contracts").json()
    assert page["total"] == 4 and page["limit"] == 50 and page["offset"] == 0
    names = [c["name"] for c in page["items"]]
    assert names == sorted(names)

    def names_for(**params: object) -> list[str]:
        response = client.get("/contracts", params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert names_for(owner="logistics") == ["ship.lost", "ship.sent"]
    assert names_for(tag="tier-1") == ["pay.settled", "ship.sent"]
    assert names_for(status="deprecated") == ["pay.refunded"]
    assert names_for(q="PAY") == ["pay.refunded", "pay.settled"]
    assert names_for(q="100%") == ["ship.lost"]  # LIKE wildcards are taken literally
    assert names_for(q="_") == ["ship.lost"]
    assert names_for(owner="payments", tag="money", status="active") == ["pay.settled"]

    first = client.get("/contracts", params={"limit": 3}).json()
    second = client.get("/contracts", params={"limit": 3, "offset": 3}).json()
    assert first["total"] == second["total"] == 4
    assert [c["name"] for c in first["items"] + second["items"]] == names
    summary = first["items"][0]
    assert summary["latest_version"] == 1
    assert summary["compatibility"] == {"mode": "BACKWARD", "policy": "STRICT"}

    bad = client.get("/contracts", params={"limit": 0})
    assert bad.status_code == 422
    error = error_of(bad)
    assert error["code"] == "invalid_request" and "limit" in error["message"]
    assert error["details"][0]["field"] == "query.limit"


def test_get_contract_and_versions(client: TestClient) -> None:
    v1 = _publish(client, small(tags=["a"]))
    v2 = _publish(client, small(extra=("note",), tags=["b"], description="Second."))
    contract = client.get("/contracts/demo.events").json()
    assert contract["latest_version"] == 2
    assert contract["tags"] == ["b"] and contract["description"] == "Second."
    versions = client.get("/contracts/demo.events/versions").json()
    assert versions["name"] == "demo.events"
    assert [(v["version"], v["id"], v["status"]) for v in versions["items"]] == [
        (1, v1["id"], "active"),
        (2, v2["id"], "active"),
    ]


def test_get_version_and_latest_with_etag(client: TestClient) -> None:
    _publish(client, small())
    v2 = _publish(client, small(extra=("note",)))
    latest = client.get("/contracts/demo.events/versions/latest")
    assert latest.status_code == 200
    body = latest.json()
    assert body["version"] == 2 and body["id"] == v2["id"]
    assert body["fingerprint"] == v2["fingerprint"]
    assert body["contract"] == Contract.from_document(small(extra=("note",))).to_document()
    etag = latest.headers["etag"]
    assert etag.startswith(f'"{v2["id"]}-{v2["fingerprint"]}') and not etag.startswith("W/")
    assert client.get("/contracts/demo.events/versions/2").headers["etag"] == etag

    cached = client.get("/contracts/demo.events/versions/latest", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag
    other = client.get(
        "/contracts/demo.events/versions/1", headers={"If-None-Match": f'"x", {etag}'}
    )
    assert other.status_code == 200 and other.json()["version"] == 1

    # A lifecycle change changes the representation, so the ETag.
    client.patch("/contracts/demo.events/versions/2", json={"status": "deprecated"})
    changed = client.get("/contracts/demo.events/versions/latest", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["status"] == "deprecated"


def test_the_same_content_published_again_is_another_etag(client: TestClient) -> None:
    # Deleted for good and published again, the same content is a new version (new id):
    # a client holding the old tag must not be told its copy is current.
    first = _publish(client, small())
    old = client.get("/contracts/demo.events/versions/latest").headers["etag"]
    assert client.delete("/contracts/demo.events/versions/1").status_code == 200
    purged = client.delete("/contracts/demo.events/versions/1", params={"permanent": "true"})
    assert purged.status_code == 200, purged.text
    again = _publish(client, small())
    assert again["id"] != first["id"] and again["fingerprint"] == first["fingerprint"]
    latest = client.get("/contracts/demo.events/versions/latest", headers={"If-None-Match": old})
    assert latest.status_code == 200 and latest.json()["id"] == again["id"]
    assert latest.headers["etag"] != old


def test_a_version_by_id_is_revalidated(client: TestClient) -> None:
    published = _publish(client, small())
    found = client.get(f"/versions/{published['id']}")
    assert found.headers["cache-control"] == "no-cache"  # its status may change
    etag = found.headers["etag"]
    same = client.get(f"/versions/{published['id']}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    client.patch("/contracts/demo.events/versions/1", json={"status": "deprecated"})
    changed = client.get(f"/versions/{published['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["status"] == "deprecated"


def test_read_errors(client: TestClient) -> None:
    _publish(client, small())
    missing = client.get("/contracts/nope.events/versions/latest")
    assert missing.status_code == 404 and error_of(missing)["code"] == "contract_not_found"
    assert error_of(client.get("/contracts/nope.events"))["code"] == "contract_not_found"
    no_version = client.get("/contracts/demo.events/versions/7")
    assert no_version.status_code == 404
    error = error_of(no_version)
    assert error["code"] == "version_not_found" and "version 7" in error["message"]
    bad = client.get("/contracts/demo.events/versions/first")
    assert bad.status_code == 422
    assert error_of(bad)["code"] == "invalid_request"
    assert "version" in error_of(bad)["message"]
    assert client.get("/contracts/demo.events/versions/0").status_code == 422
    for unicode_digit in ("²", "\u0661"):  # digits to str.isdigit, not version numbers
        for method in ("GET", "PATCH", "DELETE"):
            odd = client.request(method, f"/contracts/demo.events/versions/{unicode_digit}")
            assert odd.status_code == 422, (method, unicode_digit, odd.text)
            assert error_of(odd)["code"] == "invalid_request"
