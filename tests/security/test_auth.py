"""Authentication: API tokens (and the CLI that makes them), OIDC JWTs, Basic auth as
Schema Registry clients send it, anonymous read, the switch, and default deny."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from registry.app import create_app
from registry.auth.tokens import CACHE_SECONDS, parse_token
from registry.settings import Settings
from tests.cli import Ran, accord
from tests.processes import running_registry
from tests.security.conftest import OWN, Secured, bearer, contract_doc, make_token, secure_settings


def test_missing_and_bad_credentials_are_401_with_a_challenge(shared: Secured) -> None:
    c = shared.client
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Bearer accord_0123456789abcdef_" + "x" * 43},  # unknown id
        {"Authorization": "Token abc"},
        {"Authorization": "Basic !!!"},
        {"Authorization": b"Basic \xe9"},  # not ASCII: base64 raised ValueError, a 500
        {"Authorization": "Bearer "},
    ):
        r = c.get("/contracts", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        error = r.json()["error"]
        assert error["code"] == "unauthorized" and error["message"]
    real = shared.tokens["reader"]
    token_id, _ = parse_token(real) or ("", "")
    forged = f"accord_{token_id}_{'A' * 43}"  # a known id with the wrong secret
    assert c.get("/contracts", headers=bearer(forged)).status_code == 401
    confluent = c.get("/subjects")
    assert confluent.status_code == 401 and confluent.json()["error_code"] == 40101
    assert confluent.headers["WWW-Authenticate"].startswith("Basic")
    assert c.get("/ui").headers["WWW-Authenticate"].startswith("Basic")


def test_open_routes_need_nothing(shared: Secured) -> None:
    for path in ("/health", "/version", "/openapi.json", "/docs"):
        assert shared.client.get(path, headers={"Authorization": "Bearer junk"}).status_code == 200


def test_reads_need_a_token_of_any_role(shared: Secured) -> None:
    for who in shared.tokens:
        for path in ("/contracts", "/breaches", "/metrics", "/ui", "/subjects", "/auth/whoami"):
            r = shared.client.get(path, headers=shared.as_(who))
            assert r.status_code == 200, (who, path, r.text)
    me = shared.client.get("/auth/whoami", headers=shared.as_("producer_own")).json()
    assert me["roles"] == ["producer"] and me["teams"] == [OWN] and me["kind"] == "token"


def test_basic_auth_as_confluent_clients_send_it(shared: Secured) -> None:
    token = shared.tokens["reader"]
    for user_info in (f"{token.split('_')[1]}:{token}", f"anything:{token}", f"{token}:"):
        value = base64.b64encode(user_info.encode()).decode()
        r = shared.client.get("/subjects", headers={"Authorization": f"Basic {value}"})
        assert r.status_code == 200, (user_info, r.text)


def test_tokens_are_stored_hashed_and_revocation_and_expiry_apply(secured: Secured) -> None:
    s = secured
    token = make_token(s.database_url, "reader", name="ci")
    token_id, secret = parse_token(token) or ("", "")
    engine = sa.create_engine(s.database_url)
    try:
        with engine.connect() as connection:
            row = (
                connection.execute(
                    sa.text("SELECT * FROM api_tokens WHERE id = :id"), {"id": token_id}
                )
                .mappings()
                .one()
            )
    finally:
        engine.dispose()
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})
    assert len(row["salt"]) == 32 and len(row["digest"]) == 64
    assert s.client.get("/contracts", headers=bearer(token)).status_code == 200
    expired = make_token(
        s.database_url, "reader", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    r = s.client.get("/contracts", headers=bearer(expired))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_cli_creates_lists_and_revokes_tokens(database_url: str, tmp_path: Path) -> None:
    def run(*args: str) -> Ran:
        return accord("token", *args, env={"ACCORD_DATABASE_URL": database_url})

    created = run("create", "--team", OWN, "--role", "producer", "--name", "ci", "--expires", "30d")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout.count("\n") == 1 and parse_token(token) is not None  # the token alone
    token_id = token.split("_")[1]
    assert token_id in created.stderr and token not in created.stderr
    listed = run("list")
    assert listed.returncode == 0 and token_id in listed.stdout and token not in listed.stdout
    assert "producer" in listed.stdout and OWN in listed.stdout
    bad = run("create", "--role", "producer")  # a producer needs a team
    assert bad.returncode == 2 and "team" in bad.stderr
    assert run("create", "--role", "root").returncode == 2
    app = create_app(secure_settings(database_url))
    with TestClient(app) as client:
        doc = contract_doc("cli.events")
        r = client.post("/contracts/cli.events/versions", json=doc, headers=bearer(token))
        assert r.status_code == 201, r.text
        assert run("revoke", token_id).returncode == 0
        time.sleep(CACHE_SECONDS + 0.2)
        r = client.get("/contracts", headers=bearer(token))
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    assert token_id not in run("list").stdout
    assert token_id in run("list", "--all").stdout
    assert run("revoke", "nope").returncode == 2


def test_anonymous_read_can_be_switched_on(database_url: str) -> None:
    app = create_app(secure_settings(database_url, anonymous_read=True))
    with TestClient(app) as client:
        assert client.get("/contracts").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/ui").status_code == 200
        assert client.get("/subjects").status_code == 200
        r = client.post("/contracts/anon.events/versions", json=contract_doc("anon.events"))
        assert r.status_code == 401
        assert client.get("/audit").status_code == 401
        assert client.get("/contracts", headers=bearer("accord_junk")).status_code == 401


def test_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env({}).auth is True
    assert Settings.from_env({"ACCORD_AUTH": "off"}).auth is False
    assert Settings.from_env({"ACCORD_ANONYMOUS_READ": "on"}).anonymous_read is True
    with pytest.raises(ValueError, match="ACCORD_AUTH"):
        Settings.from_env({"ACCORD_AUTH": "maybe"})
    with pytest.raises(ValueError, match="ACCORD_RATE_LIMIT"):
        Settings.from_env({"ACCORD_RATE_LIMIT": "lots"})
    with pytest.raises(ValueError, match="OIDC"):
        Settings.from_env({"ACCORD_OIDC_ISSUER": "https://id.example.com"})
    assert Settings.from_env({"ACCORD_RATE_LIMIT": "600/minute"}).rate_limit == "600/minute"


def test_auth_off_serves_everyone_and_says_so(database_url: str, tmp_path: Path) -> None:
    app = create_app(secure_settings(database_url, auth=False))
    with TestClient(app) as client:
        r = client.post("/contracts/open.events/versions", json=contract_doc("open.events"))
        assert r.status_code == 201
        assert client.get("/auth/whoami").json()["auth"] is False
    with running_registry(database_url, tmp_path) as url:
        assert url
    logs = "".join(p.read_text() for p in tmp_path.glob("registry-*.log"))
    assert "WARNING" in logs and "ACCORD_AUTH=off" in logs


def test_routes_added_later_are_denied_by_default(database_url: str) -> None:
    app: FastAPI = create_app(secure_settings(database_url))

    def later() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_api_route("/later", later, methods=["GET"])
    app.add_api_route("/later", later, methods=["POST"])
    reader = make_token(database_url, "reader")
    admin = make_token(database_url, "admin")
    with TestClient(app) as client:
        assert client.get("/later").status_code == 401
        assert client.get("/later", headers=bearer(reader)).status_code == 200
        assert client.post("/later", headers=bearer(reader)).status_code == 403
        assert client.post("/later", headers=bearer(admin)).status_code == 200


# -- OIDC -------------------------------------------------------------------------------------

ISSUER, AUDIENCE = "https://id.example.test", "accord-registry"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oidc_app(database_url: str, tmp_path: Path, signing_key: rsa.RSAPrivateKey) -> FastAPI:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    return create_app(
        secure_settings(
            database_url,
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks=str(jwks),
            oidc_team_claim="accord.team",
            oidc_role_claim="accord.roles",
        )
    )


def _jwt(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300}
    payload |= {"accord": {"team": OWN, "roles": ["producer", "unknown-role"]}}
    payload |= claims
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_oidc_tokens_map_claims_to_team_and_role(
    oidc_app: FastAPI, signing_key: rsa.RSAPrivateKey
) -> None:
    with TestClient(oidc_app) as client:
        token = _jwt(signing_key)
        me = client.get("/auth/whoami", headers=bearer(token)).json()
        assert me == {
            "auth": True,
            "kind": "oidc",
            "subject": "oidc:alice",
            "roles": ["producer"],
            "teams": [OWN],
            "name": None,
        }
        r = client.post(
            "/contracts/oidc.events/versions",
            json=contract_doc("oidc.events"),
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
        other = _jwt(signing_key, accord={"team": "billing", "roles": "producer"})
        r = client.post(
            "/contracts/oidc.events/versions",
            json=contract_doc("oidc.events", extra=("x",)),
            headers=bearer(other),
        )
        assert r.status_code == 403
        no_role = _jwt(signing_key, accord={"team": OWN})
        assert client.get("/contracts", headers=bearer(no_role)).status_code == 403


def test_oidc_rejects_what_it_must(oidc_app: FastAPI, signing_key: rsa.RSAPrivateKey) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    bad = [
        _jwt(signing_key, iss="https://evil.example.test"),
        _jwt(signing_key, aud="someone-else"),
        _jwt(signing_key, exp=now - 120),
        _jwt(other_key),  # not signed by the provider
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60}, "s" * 32, "HS256"
        ),
        jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60}, "", "none"),
        # An EC algorithm with the provider's RSA key id: PyJWT raised TypeError, a 500.
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60},
            ec.generate_private_key(ec.SECP256R1()),
            "ES256",
            headers={"kid": "k1"},
        ),
    ]
    with TestClient(oidc_app) as client:
        for token in bad:
            r = client.get("/contracts", headers=bearer(token))
            assert r.status_code == 401, (
                jwt.decode(token, options={"verify_signature": False}),
                r.text,
            )
        exp_missing = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "accord": {"roles": "reader"}},
            signing_key,
            "RS256",
            headers={"kid": "k1"},
        )
        assert client.get("/contracts", headers=bearer(exp_missing)).status_code == 401


def test_a_nul_in_an_owned_path_is_a_clear_error(shared: Secured) -> None:
    # On PostgreSQL the ownership look-up itself failed (DataError): a plain-text 500.
    for method, path, who in (
        ("DELETE", "/contracts/a%00b", "producer_own"),
        ("DELETE", "/contracts/a%00b/versions/1", "producer_own"),
        ("DELETE", "/contracts/x/consumers/a%00b", "consumer_own"),
    ):
        r = shared.client.request(method, path, headers=shared.as_(who), json={"mode": "READONLY"})
        assert r.status_code in (404, 422), (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/"), r.text
