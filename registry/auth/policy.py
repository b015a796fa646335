"""The one authorization table: route (method + path template) → action, role, ownership.

`SecurityMiddleware` looks every request up here before the route runs. A route missing
from the table is still protected (default deny): a read (GET, HEAD) needs `reader`, any
other method `admin`. Confluent routes are listed without their ``/confluent`` prefix.

Ownership (`Owner`) is checked on top of the role, for principals that are not admins:

- ``CONTRACT``: the contract (or subject) in the path must be owned (``owner.team`` of its
  latest version) by one of the principal's teams — when it exists; a new contract is
  judged by the team its document names, in the publishing transaction
  (`registry.auth.guard`), which also refuses a change of owner unless the principal holds
  both the old and the new team.
- ``CONSUMER``: the consumer in the path must belong to one of the principal's teams (a
  registration's team is checked in the transaction).
- ``WEBHOOK``: the webhook in the path must be of one of the principal's teams, or of a
  contract they own (a new webhook's team or contract is checked in the transaction).
- ``WEBHOOK_QUERY``: a listing must be filtered (``?team=`` / ``?contract=``) to one of
  the principal's teams or contracts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from registry.auth.principal import Role

__all__ = ["OPEN", "POLICY", "Owner", "Rule", "rule_for"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Owner(enum.Enum):
    NONE = "none"
    CONTRACT = "contract"
    # The contract's team, and a contract not created yet only by an admin: its settings
    # would bind whichever team creates it (a subject's mode or compatibility).
    EXISTING_CONTRACT = "existing_contract"
    CONSUMER = "consumer"
    WEBHOOK = "webhook"
    WEBHOOK_QUERY = "webhook_query"


@dataclass(frozen=True, slots=True)
class Rule:
    """What a route needs. `role` None: open to anyone (no credentials looked at).
    `changes`: the route changes state, so every call is audited."""

    action: str
    role: Role | None
    owner: Owner = Owner.NONE
    changes: bool = False


OPEN = Rule("open", None)
READ = Rule("read", Role.READER)
_R, _P, _C, _A = Role.READER, Role.PRODUCER, Role.CONSUMER, Role.ADMIN


def _change(action: str, role: Role, owner: Owner = Owner.NONE) -> Rule:
    return Rule(action, role, owner, changes=True)


POLICY: dict[tuple[str, str], Rule] = {
    # -- always open -------------------------------------------------------------------
    ("GET", "/health"): OPEN,
    ("GET", "/version"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    # -- contracts and versions --------------------------------------------------------
    ("GET", "/contracts"): READ,
    ("GET", "/contracts/{name}"): READ,
    ("DELETE", "/contracts/{name}"): _change("contract.delete", _P, Owner.CONTRACT),
    ("GET", "/contracts/{name}/config"): READ,
    ("PUT", "/contracts/{name}/config"): _change("contract.config", _P, Owner.CONTRACT),
    ("POST", "/contracts/{name}/compatibility"): Rule("contract.check", _R),  # a dry run
    ("POST", "/contracts/{name}/versions"): _change("contract.publish", _P, Owner.CONTRACT),
    ("GET", "/contracts/{name}/versions"): READ,
    ("GET", "/contracts/{name}/versions/{version}"): READ,
    ("PATCH", "/contracts/{name}/versions/{version}"): _change(
        "version.lifecycle", _P, Owner.CONTRACT
    ),
    ("DELETE", "/contracts/{name}/versions/{version}"): _change(
        "version.delete", _P, Owner.CONTRACT
    ),
    ("GET", "/versions/{id}"): READ,
    # -- consumers ---------------------------------------------------------------------
    ("GET", "/contracts/{name}/consumers"): READ,
    ("POST", "/contracts/{name}/consumers"): _change("consumer.register", _C),
    ("DELETE", "/contracts/{name}/consumers/{consumer:path}"): _change(
        "consumer.unregister", _C, Owner.CONSUMER
    ),
    # -- breaches and monitoring ---------------------------------------------------------
    ("POST", "/breaches"): _change("breach.report", Role.REPORTER),
    ("GET", "/breaches"): READ,
    ("GET", "/contracts/{name}/breaches"): READ,
    ("GET", "/contracts/{name}/sla"): READ,
    ("GET", "/metrics"): READ,
    ("POST", "/webhooks"): _change("webhook.create", _P),
    ("GET", "/webhooks"): Rule("webhook.list", _P, Owner.WEBHOOK_QUERY),
    ("GET", "/webhooks/{webhook_id}"): Rule("webhook.read", _P, Owner.WEBHOOK),
    ("PATCH", "/webhooks/{webhook_id}"): _change("webhook.update", _P, Owner.WEBHOOK),
    ("DELETE", "/webhooks/{webhook_id}"): _change("webhook.delete", _P, Owner.WEBHOOK),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Rule("webhook.read", _P, Owner.WEBHOOK),
    # -- web UI --------------------------------------------------------------------------
    ("GET", "/ui"): READ,
    ("GET", "/ui/"): READ,
    ("GET", "/ui/contracts/{name}"): READ,
    ("GET", "/ui/contracts/{name}/diff"): READ,
    ("GET", "/ui/breaches"): READ,
    ("GET", "/ui/static"): READ,
    # -- security ------------------------------------------------------------------------
    ("GET", "/audit"): Rule("audit.read", _A),
    ("GET", "/auth/whoami"): READ,
    # -- Confluent Schema Registry API (also under /confluent) ---------------------------
    ("GET", "/subjects"): READ,
    ("GET", "/subjects/{subject}/versions"): READ,
    ("POST", "/subjects/{subject}/versions"): _change("subject.register", _P, Owner.CONTRACT),
    ("POST", "/subjects/{subject}"): Rule("subject.lookup", _R),
    ("DELETE", "/subjects/{subject}"): _change("subject.delete", _P, Owner.CONTRACT),
    ("GET", "/subjects/{subject}/versions/{version}"): READ,
    ("GET", "/subjects/{subject}/versions/{version}/schema"): READ,
    ("GET", "/subjects/{subject}/versions/{version}/referencedby"): READ,
    ("DELETE", "/subjects/{subject}/versions/{version}"): _change(
        "subject.version.delete", _P, Owner.CONTRACT
    ),
    ("GET", "/subjects/{subject}/metadata"): READ,
    ("GET", "/schemas/types"): READ,
    ("GET", "/schemas/ids/{schema_id}"): READ,
    ("GET", "/schemas/ids/{schema_id}/schema"): READ,
    ("GET", "/schemas/ids/{schema_id}/versions"): READ,
    ("GET", "/schemas/ids/{schema_id}/subjects"): READ,
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"): Rule("subject.check", _R),
    ("POST", "/compatibility/subjects/{subject}/versions"): Rule("subject.check", _R),
    ("GET", "/config"): READ,
    ("PUT", "/config"): _change("confluent.config", _A),
    ("DELETE", "/config"): _change("confluent.config.delete", _A),
    ("GET", "/config/{subject}"): READ,
    ("PUT", "/config/{subject}"): _change("subject.config", _P, Owner.EXISTING_CONTRACT),
    ("DELETE", "/config/{subject}"): _change("subject.config.delete", _P, Owner.EXISTING_CONTRACT),
    ("GET", "/mode"): READ,
    ("PUT", "/mode"): _change("confluent.mode", _A),
    ("GET", "/mode/{subject}"): READ,
    ("PUT", "/mode/{subject}"): _change("subject.mode", _P, Owner.EXISTING_CONTRACT),
    ("DELETE", "/mode/{subject}"): _change("subject.mode.delete", _P, Owner.EXISTING_CONTRACT),
}

# The Confluent API answers anything else under its paths with its own 404/405: any caller
# that could read may learn that.
for _prefix in ("/subjects", "/schemas", "/compatibility", "/config", "/mode"):
    POLICY[("*", _prefix)] = READ
    POLICY[("*", _prefix + "/{rest:path}")] = READ

_DEFAULT_READ = Rule("read", Role.READER)
_DEFAULT_WRITE = Rule("admin", Role.ADMIN, changes=True)


def rule_for(method: str, template: str) -> Rule:
    """The rule of a route; routes not listed: reads need a reader, the rest an admin."""
    method = "GET" if method == "HEAD" else method
    found = POLICY.get((method, template)) or POLICY.get(("*", template))
    if found is not None:
        return found
    return _DEFAULT_READ if method in SAFE_METHODS else _DEFAULT_WRITE
