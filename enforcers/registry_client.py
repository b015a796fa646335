"""A small synchronous client of the registry's HTTP API (enforcers reach it only so).

Reads of a version are conditional: the client keeps the last body of each version it
fetched with its ETag, and a 304 answer reuses it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson

from contracts import CompatibilityMode, Contract, Policy, parse_text
from contracts.compatibility import CompatibilityReport

__all__ = [
    "DEFAULT_URL",
    "PublishResult",
    "RegisteredVersion",
    "RegistryClient",
    "RegistryError",
    "bearer_token",
    "registry_url",
]

DEFAULT_URL = "http://127.0.0.1:8000"
Document = Mapping[str, Any] | str | bytes


class RegistryError(Exception):
    """The registry refused a request, or could not be reached (`status` None).

    `code` is the registry's error code (``incompatible``, ``invalid_contract``...) or
    ``unreachable``; `details` its structured detail (the report, the problems...).
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str = "error", details: Any = None
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.details = message, status, code, details

    @property
    def report(self) -> CompatibilityReport | None:
        """The compatibility report of a refused (409 ``incompatible``) publish."""
        if self.code == "incompatible" and isinstance(self.details, Mapping):
            return CompatibilityReport.from_dict(self.details)
        return None


@dataclass(frozen=True, slots=True)
class PublishResult:
    name: str
    version: int
    id: int
    fingerprint: str
    created_at: str
    created: bool  # False: identical content was already this version


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    name: str
    version: int
    id: int
    fingerprint: str
    status: str
    created_at: str
    deleted_at: str | None
    document: Mapping[str, Any]

    @property
    def contract(self) -> Contract:
        """The typed contract (the registry validated the document when it was published)."""
        return Contract.from_document(self.document)


def _body(document: Document) -> tuple[bytes, str, str]:
    """(bytes, content type, contract name) of a document given as text or a mapping."""
    if isinstance(document, Mapping):
        return json.dumps(document).encode(), "application/json", str(document.get("name", ""))
    raw = document.encode() if isinstance(document, str) else document
    is_json = raw.lstrip().startswith(b"{")
    try:
        data = parse_text(raw, fmt="json" if is_json else "yaml").data
    except ValueError:
        data = None  # unreadable: let the registry say why, in its own words
    name = str(data.get("name", "")) if isinstance(data, Mapping) else ""
    return raw, "application/json" if is_json else "application/yaml", name


def registry_url(url: str | None) -> str:
    """`url` (default ``ACCORD_REGISTRY_URL``, else localhost) without its trailing slash;
    RegistryError (code ``invalid_url``) if it cannot be parsed, before any request."""
    url = (url or os.environ.get("ACCORD_REGISTRY_URL") or DEFAULT_URL).rstrip("/")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise RegistryError(f"invalid registry URL {url!r}: {exc}", code="invalid_url") from None
    return url


def bearer_token(token: str | None, *, given: bool = True) -> str | None:
    """`token` as sent in ``Authorization: Bearer``, or None when there is none.

    Surrounding whitespace goes (``$(cat token-file)`` keeps a newline); anything but
    printable ASCII is a RegistryError (code ``invalid_token``) that never quotes the token:
    it would otherwise end up in an error message, and so in CI logs.
    """
    token = (token or "").strip()
    if token and not (token.isascii() and token.isprintable()):
        which = "the token" if given else "ACCORD_TOKEN"
        raise RegistryError(
            f"{which} is malformed: only printable ASCII characters can be sent",
            code="invalid_token",
        )
    return token or None


class RegistryClient:
    """`RegistryClient(url)`; the URL defaults to ``ACCORD_REGISTRY_URL``, else localhost.

    `token`: an API token (or OIDC JWT) sent as ``Authorization: Bearer``; defaults to
    ``ACCORD_TOKEN``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = registry_url(base_url)
        given = bool(token)
        token = bearer_token(token or os.environ.get("ACCORD_TOKEN"), given=given)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=headers
        )
        self._versions: dict[tuple[str, str], tuple[str, RegisteredVersion]] = {}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- requests -----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RegistryError(
                f"cannot reach the registry at {_shown(self.base_url)}: {exc}", code="unreachable"
            ) from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    def publish(self, document: Document) -> PublishResult:
        """Publish a contract document (YAML/JSON text, or a mapping); RegistryError if
        refused: code ``incompatible`` (see `.report`), ``invalid_contract``, ..."""
        raw, content_type, name = _body(document)
        if not name:
            raise RegistryError(
                "the document has no contract name (/name)", code="invalid_contract"
            )
        response = self._request(
            "POST",
            f"/contracts/{quote(name, safe='')}/versions",
            content=raw,
            headers={"Content-Type": content_type},
        )
        return _read(
            response,
            lambda data: PublishResult(
                name=data["name"],
                version=data["version"],
                id=data["id"],
                fingerprint=data["fingerprint"],
                created_at=data["created_at"],
                created=response.status_code == 201,
            ),
        )

    def get_version(self, name: str, version: int | str = "latest") -> RegisteredVersion:
        """One version (or the latest live one), revalidated with its ETag."""
        key = (name, str(version))
        cached = self._versions.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._request(
            "GET", f"/contracts/{quote(name, safe='')}/versions/{version}", headers=headers
        )
        if response.status_code == 304 and cached:
            return cached[1]
        found = _read(response, _registered)
        etag = response.headers.get("etag")
        if etag:
            self._versions[key] = (etag, found)
        return found

    def get_by_id(self, version_id: int) -> RegisteredVersion:
        """The version with this global id (the id Confluent-framed messages carry).

        Versions are immutable, so the answer is kept for the life of the client.
        """
        key = ("#id", str(version_id))
        if key in self._versions:
            return self._versions[key][1]
        found = _read(self._request("GET", f"/versions/{version_id}"), _registered)
        self._versions[key] = ("", found)
        return found

    def report_breaches(self, batch: Mapping[str, Any]) -> dict[str, int]:
        """Send one `BreachReporter` batch (POST /breaches); raises RegistryError if refused."""
        response = self._request(
            "POST",
            "/breaches",
            content=orjson.dumps(batch),
            headers={"Content-Type": "application/json"},
        )
        receipt: dict[str, int] = _read(response, dict)
        return receipt

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        """Metadata of the live versions, oldest first."""
        response = self._request("GET", f"/contracts/{quote(name, safe='')}/versions")
        items: list[dict[str, Any]] = _read(response, lambda data: list(data["items"]))
        return items

    def check_compatibility(
        self,
        name_or_document: str | Document,
        document: Document | None = None,
        *,
        mode: CompatibilityMode | None = None,
        policy: Policy | None = None,
    ) -> CompatibilityReport:
        """Dry-run a candidate against the registered history.

        Call as ``check_compatibility(name, document)`` or ``check_compatibility(document)``
        (the name is then the document's).
        """
        if document is None:
            document = name_or_document
            name = None
        else:
            name = str(name_or_document)
        raw, content_type, found = _body(document)
        name = name or found
        if not name:
            raise RegistryError(
                "the document has no contract name (/name)", code="invalid_contract"
            )
        params = {key: value.value for key, value in (("mode", mode), ("policy", policy)) if value}
        response = self._request(
            "POST",
            f"/contracts/{quote(name, safe='')}/compatibility",
            content=raw,
            headers={"Content-Type": content_type},
            params=params,
        )
        return _read(response, CompatibilityReport.from_dict)


T = TypeVar("T")


def _read(response: httpx.Response, build: Callable[[Any], T]) -> T:
    """`build` applied to the response's JSON; RegistryError if it is not the registry's
    (an HTML page of a proxy, another service at that address)."""
    try:
        return build(response.json())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistryError(
            f"{response.request.method} {_shown(response.url)}: not an answer of an Accord "
            "registry "
            f"(HTTP {response.status_code}, {response.headers.get('content-type', 'no type')})",
            code="invalid_response",
        ) from exc


def _shown(url: str | httpx.URL) -> str:
    """`url` as messages show it: without a password (messages end up in CI logs)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(password=None)) if parsed.password else str(parsed)


def _registered(data: Mapping[str, Any]) -> RegisteredVersion:
    return RegisteredVersion(
        name=data["name"],
        version=data["version"],
        id=data["id"],
        fingerprint=data["fingerprint"],
        status=data["status"],
        created_at=data["created_at"],
        deleted_at=data.get("deleted_at"),
        document=data["contract"],
    )


def _error(response: httpx.Response) -> RegistryError:
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{response.status_code}", response.text[:200], None
    return RegistryError(message, status=response.status_code, code=code, details=details)
