"""`SecurityMiddleware`: every request passes here before any route runs.

In order: find the route (as the router will) and its rule in `registry.auth.policy`;
authenticate (bearer or basic credentials: an Accord token or an OIDC JWT); rate-limit
(per token, else per client address); authorize the role (401 without credentials, 403
with the wrong ones); limit the body (413, also for chunked bodies, before the route reads
it); check ownership of what the path names; then run the route with the principal, the
document limits and an audit entry in its context, and record the outcome in the audit log.
Errors are the native ``{"error": {...}}`` body, or Confluent's ``{"error_code",
"message"}`` on the Confluent API's routes.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import orjson
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.datastructures import Headers, QueryParams
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry import limits
from registry.auth import audit
from registry.auth.oidc import OidcVerifier, looks_like_jwt
from registry.auth.policy import SAFE_METHODS, Owner, Rule, rule_for
from registry.auth.principal import ANONYMOUS, Principal, Role, set_principal
from registry.auth.tokens import TokenVerifier, parse_token
from registry.db import Database
from registry.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)
from registry.http_errors import error_body, out_of_range_of
from registry.settings import Settings, parse_rate
from registry.tables import ConsumerRow, ContractRow, WebhookRow

__all__ = ["Authenticator", "SecurityMiddleware"]

log = logging.getLogger("registry")
# How a route reads an int path parameter (pydantic's lax mode: "+1", "01", "1_0" too).
_PATH_INT = TypeAdapter(int)

CONFLUENT_PREFIX = "/confluent"
_CONFLUENT_CODES = {401: 40101, 403: 40301, 413: 41301, 429: 42901, 503: 50301}
_CONFLUENT_MEDIA = "application/vnd.schemaregistry.v1+json"


class Authenticator:
    """Credentials to a principal: Accord API tokens, and OIDC JWTs when configured."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.db = db
        self.tokens = TokenVerifier()
        self.oidc: OidcVerifier | None = None
        if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks:
            self.oidc = OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_audience,
                settings.oidc_jwks,
                team_claim=settings.oidc_team_claim,
                role_claim=settings.oidc_role_claim,
            )

    @staticmethod
    def credential(header: str) -> str:
        """The token in an Authorization header: ``Bearer T``, or ``Basic`` with T as the
        password (or as the user, with no password), as Schema Registry clients send it."""
        scheme, _, value = header.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            credential = value
        elif scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
                raise Unauthorized("malformed Basic credentials") from None
            user, _, password = decoded.partition(":")
            credential = password or user
        else:
            raise Unauthorized(f"unsupported authorization scheme {scheme[:20]!r}: use Bearer")
        if not credential:
            raise Unauthorized("empty credentials")
        return credential

    async def authenticate(self, header: str) -> Principal:
        credential = self.credential(header)
        parsed = parse_token(credential)
        if parsed is not None:
            token_id, secret = parsed
            hit, stored = self.tokens.cached(token_id)
            if not hit:
                stored = await self.db.read(lambda c: TokenVerifier.fetch(c, token_id))
                self.tokens.remember(token_id, stored)
            return TokenVerifier.principal(token_id, secret, stored)
        if self.oidc is not None and looks_like_jwt(credential):
            if self.oidc.fetches:
                return await anyio.to_thread.run_sync(self.oidc.verify, credential)
            return self.oidc.verify(credential)
        kinds = "an Accord API token or an OIDC token" if self.oidc else "an Accord API token"
        raise Unauthorized(f"the credentials are not {kinds}")


@dataclass(frozen=True, slots=True)
class _Candidate:
    regex: re.Pattern[str]
    methods: frozenset[str] | None  # None: any (a mount)
    convertors: Mapping[str, Any]
    route: Any  # the route as declared (its `path` is the template, without include prefix)


class _RouteTable:
    """The app's routes, flattened as the router tries them (rebuilt when routes are added)."""

    def __init__(self) -> None:
        self._size = -1
        self._table: list[_Candidate] = []

    def candidates(self, router: Any) -> list[_Candidate]:
        routes = router.routes
        if len(routes) != self._size:
            self._table, self._size = _flatten(routes), len(routes)
        return self._table


def _flatten(routes: Any) -> list[_Candidate]:
    table = []
    for context in iter_route_contexts(routes):
        regex = getattr(context, "path_regex", None)
        if regex is None:
            continue
        methods = context.methods
        table.append(
            _Candidate(
                regex,
                frozenset(methods) if methods else None,
                getattr(context, "param_convertors", {}),
                context.original_route,
            )
        )
    return table


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the app's root path (as Starlette does)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _route(scope: Scope, routes: _RouteTable) -> tuple[Any, str | None, dict[str, Any]]:
    """The route the router will pick (None: no route, or only other methods'), its path
    template (as declared: Confluent routes without their prefix) and path parameters."""
    router = getattr(scope.get("app"), "router", None)
    if router is None:
        return None, None, {}
    path = _route_path(scope)
    method = scope["method"]
    for candidate in routes.candidates(router):
        found = candidate.regex.match(path)
        if found is None:
            continue
        if candidate.methods is not None and method not in candidate.methods:
            continue  # another method's route; none at all: the router answers 405
        params = {
            key: candidate.convertors[key].convert(value) if key in candidate.convertors else value
            for key, value in found.groupdict().items()
        }
        template = getattr(candidate.route, "path", None)
        if isinstance(candidate.route, Mount):
            params = {}
        return candidate.route, template, params
    return None, None, {}


def _is_confluent(route: Any) -> bool:
    return type(route).__name__ == "ConfluentRoute"


# -- ownership lookups (short reads) ------------------------------------------------------------


def _contract_owner(connection: Connection, name: str) -> str | None:
    found: str | None = connection.execute(
        sa.select(ContractRow.owner_team).where(
            ContractRow.name == name, ContractRow.purged_at.is_(None)
        )
    ).scalar()
    return found


def _consumer_team(connection: Connection, name: str, consumer: str) -> str | None:
    found: str | None = connection.execute(
        sa.select(ConsumerRow.team)
        .join(ContractRow, ContractRow.id == ConsumerRow.contract_id)
        .where(ContractRow.name == name, ConsumerRow.name == consumer)
    ).scalar()
    return found


def _webhook(connection: Connection, webhook_id: int) -> tuple[str | None, str | None] | None:
    found = connection.execute(
        sa.select(WebhookRow.team, WebhookRow.contract).where(WebhookRow.id == webhook_id)
    ).first()
    return None if found is None else (found[0], found[1])


class SecurityMiddleware:
    """Authentication, authorization, limits and audit for every HTTP request."""

    def __init__(self, app: ASGIApp, *, settings: Settings, db: Database) -> None:
        self.app = app
        self.settings = settings
        self.db = db
        self.auth = settings.auth
        self.authenticator = Authenticator(settings, db) if settings.auth else None
        self.limiter: limits.RateLimiter | None = None
        if settings.rate_limit:
            self.limiter = limits.RateLimiter(*parse_rate(settings.rate_limit))
        self.routes = _RouteTable()
        self.document_limits = limits.DocumentLimits(
            settings.max_schema_depth, settings.max_schema_properties, settings.max_body_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, template, params = _route(scope, self.routes)
        if template is None:  # 404 or 405: the router answers, nothing runs
            await self.app(scope, receive, send)
            return
        limits.use(self.document_limits)
        rule = rule_for(scope["method"], template)
        client = scope.get("client")
        address = str(client[0]) if client else None
        admitted = _Admitted()
        try:
            try:
                receive = await self._admit(scope, receive, rule, params, address, admitted)
            except DataError:  # PostgreSQL refused an ownership look-up's value (a NUL)
                query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
                raise InvalidRequest(out_of_range_of(params, query)) from None
        except (ApiError, OperationalError, InterfaceError) as exc:
            await self._refuse(scope, send, route, exc, rule, params, address, admitted)
            return
        await self._run(scope, receive, send, rule, params, address, admitted.principal)

    async def _admit(
        self,
        scope: Scope,
        receive: Receive,
        rule: Rule,
        params: dict[str, Any],
        address: str | None,
        admitted: _Admitted,
    ) -> Receive:
        """Authenticate, rate-limit, authorize and limit the body; raise to refuse."""
        headers = Headers(scope=scope)
        if rule.role is not None and self.authenticator is not None:
            authorization = headers.get("authorization")
            try:
                if authorization:
                    admitted.principal = await self.authenticator.authenticate(authorization)
                elif self.settings.anonymous_read and rule.role is Role.READER:
                    admitted.principal = ANONYMOUS
            except Unauthorized:
                self._rate(None, address)  # failed attempts count against the address
                raise
        principal = admitted.principal
        if rule.role is not None:
            self._rate(principal, address)
        if rule.role is not None and self.auth:
            if principal is None:
                raise Unauthorized(
                    "credentials needed: send an API token as 'Authorization: Bearer TOKEN'"
                )
            if not principal.can(rule.role):
                raise Forbidden(
                    f"{rule.action} needs the {rule.role.value} role; this token has "
                    f"{principal.role_label or 'none'}",
                    {"principal": principal.subject, "needs": rule.role.value},
                )
        receive = await self._limit_body(receive, headers)
        if principal is not None and not principal.is_admin and rule.owner is not Owner.NONE:
            await self._check_owner(principal, rule, params, scope)
        return receive

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        rule: Rule,
        params: dict[str, Any],
        address: str | None,
        principal: Principal | None,
    ) -> None:
        """Run the route with the principal and an audit entry in its context."""
        set_principal(principal)
        entry = None
        if rule.changes and scope["method"] not in SAFE_METHODS:
            entry = self._entry(scope, rule, params, address, principal)
        audit.set_entry(entry)
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            audit.set_entry(None)
            set_principal(None)
            if entry is not None and not entry.recorded and (status >= 400 or not entry.unchanged):
                await self._record(entry, status)

    @staticmethod
    def _entry(
        scope: Scope,
        rule: Rule,
        params: Mapping[str, Any],
        address: str | None,
        principal: Principal | None,
    ) -> audit.AuditEntry:
        return audit.AuditEntry.open(
            principal,
            rule.action,
            params,
            scope["method"],
            scope.get("path", ""),
            address,
            QueryParams(scope.get("query_string", b"").decode("latin-1")),
        )

    def _rate(self, principal: Principal | None, address: str | None) -> None:
        if self.limiter is None:
            return
        key = principal.subject if principal is not None and principal.kind != "anonymous" else None
        wait = self.limiter.acquire(key or f"ip:{address}")
        if wait > 0:
            raise RateLimited(
                f"too many requests; retry in {wait:.1f} s (ACCORD_RATE_LIMIT "
                f"{self.settings.rate_limit})",
                {"retry_after": self.limiter.retry_after(wait)},
            )

    async def _limit_body(self, receive: Receive, headers: Headers) -> Receive:
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not (declared.strip().isascii() and declared.strip().isdigit()):
                raise PayloadTooLarge("Content-Length is not a number")
            if int(declared) > limit:
                raise PayloadTooLarge(
                    f"body is {int(declared)} bytes; the limit is {limit} (ACCORD_MAX_BODY_BYTES)",
                    {"limit": limit},
                )
            return receive
        if "transfer-encoding" not in headers:
            return receive  # no body
        messages: deque[Message] = deque()
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > limit:
                raise PayloadTooLarge(
                    f"body is over the limit of {limit} bytes (ACCORD_MAX_BODY_BYTES)",
                    {"limit": limit},
                )
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        return replay

    async def _check_owner(
        self, principal: Principal, rule: Rule, params: Mapping[str, Any], scope: Scope
    ) -> None:
        teams = principal.teams
        if rule.owner in (Owner.CONTRACT, Owner.EXISTING_CONTRACT):
            name = str(params.get("name") or params.get("subject") or "")
            owner = await self.db.read(lambda c: _contract_owner(c, name))
            if owner is None and rule.owner is Owner.EXISTING_CONTRACT:
                raise Forbidden(
                    f"{name!r} is not a contract yet: only an admin may configure it before "
                    "it is created (its settings would bind the team that creates it)",
                    {"principal": principal.subject},
                )
            if owner is not None and owner not in teams:
                raise Forbidden(
                    f"contract {name!r} is owned by team {owner!r}; this token acts for "
                    f"{', '.join(sorted(teams)) or 'no team'}",
                    {"principal": principal.subject, "owner": owner},
                )
        elif rule.owner is Owner.CONSUMER:
            name, consumer = str(params.get("name", "")), str(params.get("consumer", ""))
            team = await self.db.read(lambda c: _consumer_team(c, name, consumer))
            if team is not None and team not in teams:
                raise Forbidden(
                    f"consumer {consumer!r} is of team {team!r}, which this token does not act for",
                    {"principal": principal.subject, "team": team},
                )
        elif rule.owner is Owner.WEBHOOK:
            # Read as the route reads it ("+1" and "01" are webhook 1 there too).
            try:
                webhook_id = _PATH_INT.validate_python(str(params.get("webhook_id", "")))
            except ValidationError:
                return  # the route answers 422
            if not 0 < webhook_id < 2**63:
                return  # no such webhook (the route answers 404 or 422)
            found = await self.db.read(lambda c: _webhook(c, webhook_id))
            if found is not None:
                await self._check_webhook_scope(principal, *found)
        elif rule.owner is Owner.WEBHOOK_QUERY:
            query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
            team, contract = query.get("team"), query.get("contract")
            if team is None and contract is None:
                raise Forbidden(
                    "listing every webhook needs an admin: filter with ?team= or ?contract=",
                    {"principal": principal.subject},
                )
            await self._check_webhook_scope(principal, team, contract)

    async def _check_webhook_scope(
        self, principal: Principal, team: str | None, contract: str | None
    ) -> None:
        if team is None and contract is None:
            raise Forbidden("a webhook of every contract is an admin's", {})
        if team is not None and team not in principal.teams:
            raise Forbidden(f"this token does not act for team {team!r}", {"team": team})
        if contract is not None:
            owner = await self.db.read(lambda c: _contract_owner(c, contract))
            if owner not in principal.teams:
                raise Forbidden(
                    f"contract {contract!r} is not owned by a team this token acts for",
                    {"contract": contract},
                )

    async def _record(self, entry: audit.AuditEntry, status: int, reason: str = "") -> None:
        details = {"reason": reason[:500]} if reason else {}
        row = entry.row(audit.outcome_of(status), status, details)

        def write() -> None:
            self.db.write(lambda session: session.add(row))

        try:
            await anyio.to_thread.run_sync(write)
        except Exception:
            log.exception("could not write the audit entry of %s %s", entry.method, entry.path)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        route: Any,
        exc: Exception,
        rule: Rule,
        params: dict[str, Any],
        address: str | None,
        admitted: _Admitted,
    ) -> None:
        if isinstance(exc, ApiError):
            status, code, message, details = exc.status, exc.code, exc.message, exc.details
        else:
            log.warning("database unavailable: %s", exc)
            status, code = 503, "database_unavailable"
            message, details = "the database did not answer", None
        confluent = _is_confluent(route)
        headers: list[tuple[bytes, bytes]] = []
        if status == 401:
            basic = confluent or scope.get("path", "").startswith("/ui")
            challenge = f'{"Basic" if basic else "Bearer"} realm="accord"'
            headers.append((b"www-authenticate", challenge.encode()))
        if status == 429 and isinstance(details, dict):
            headers.append((b"retry-after", str(details.get("retry_after", 1)).encode()))
        if confluent:
            error_code = _CONFLUENT_CODES.get(status, status * 100 + 1)
            body = orjson.dumps({"error_code": error_code, "message": message})
            media = _CONFLUENT_MEDIA
        else:
            body = error_body(code, message, details)
            media = "application/json"
        scope["route"] = route  # for the metrics middleware around this one
        start: Message = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
        if rule.changes and status in (401, 403) and scope["method"] not in SAFE_METHODS:
            entry = self._entry(scope, rule, params, address, admitted.principal)
            await self._record(entry, status, message)


class _Admitted:
    """What admitting a request found out (also when it was then refused)."""

    __slots__ = ("principal",)

    def __init__(self) -> None:
        self.principal: Principal | None = None
