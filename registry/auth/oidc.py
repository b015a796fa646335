"""OIDC: bearer JWTs from an identity provider, mapped to a team and a role by their claims.

``ACCORD_OIDC_ISSUER``, ``ACCORD_OIDC_AUDIENCE`` and ``ACCORD_OIDC_JWKS`` (a URL, fetched
and cached for five minutes, or a file) say whom to trust. The signature (asymmetric
algorithms only), ``iss``, ``aud``, ``exp`` (30 s leeway) and ``sub`` are required.
``ACCORD_OIDC_TEAM_CLAIM`` (default ``team``) and ``ACCORD_OIDC_ROLE_CLAIM`` (default
``role``) name the claims, as dotted paths into nested claims (``realm_access.roles``);
each may be a string or a list of strings. Unknown role names are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from registry.auth.principal import Principal, Role
from registry.errors import Unauthorized

__all__ = ["ALGORITHMS", "OidcVerifier", "looks_like_jwt"]

ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and len(token) < 16_384


def _claim(claims: Mapping[str, Any], path: str) -> list[str]:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class OidcVerifier:
    """Verifies JWTs against the configured issuer, audience and keys."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks: str,
        *,
        team_claim: str = "team",
        role_claim: str = "role",
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.team_claim = team_claim
        self.role_claim = role_claim
        self._client: PyJWKClient | None = None
        self._keys: PyJWKSet | None = None
        if jwks.startswith(("https://", "http://")):
            # The key set is cached for 5 minutes, and no key longer: one the provider
            # has withdrawn (leaked, rotated out) stops being trusted once it is refetched.
            self._client = PyJWKClient(jwks, lifespan=300, timeout=5)
        else:
            self._keys = PyJWKSet.from_dict(json.loads(Path(jwks).read_text()))

    @property
    def fetches(self) -> bool:
        """Whether verifying may wait on the network (run it off the event loop then)."""
        return self._client is not None

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise Unauthorized("no signing key of the identity provider matches the token")
        return keys[0].key

    def verify(self, token: str) -> Principal:
        """The principal a valid JWT names; Unauthorized for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except Unauthorized:
            raise
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            # TypeError: the header names an algorithm of another kind of key than its kid's.
            raise Unauthorized(f"the bearer token is not a valid OIDC token: {exc}") from None
        roles = frozenset(
            Role(r) for r in _claim(claims, self.role_claim) if r in Role.__members__.values()
        )
        teams = frozenset(_claim(claims, self.team_claim))
        subject = str(claims["sub"])
        name = claims.get("preferred_username") or claims.get("email")
        return Principal(
            "oidc", f"oidc:{subject}", roles, teams, name if isinstance(name, str) else None
        )
