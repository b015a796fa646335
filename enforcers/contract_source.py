"""Where a streaming enforcer gets its contract: the registry (cached) or a local file.

A `ContractSource` resolves ``NAME[@VERSION]`` once through `RegistryClient` and keeps the
compiled validator: no registry call per record. A pinned version never changes (versions
are immutable); ``latest`` is revalidated with its ETag at most every `refresh_interval`
seconds, in the background, and a registry that cannot be reached leaves the cached
version in force.
A local contract FILE needs no registry at all.

Confluent-framed messages (magic byte 0, then a 4-byte big-endian schema id) name the
version they were written with by its *global* id; `by_id` looks it up (an explicit
``ids`` mapping first, else ``RegistryClient.get_by_id``) and caches it for good.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts import Contract, FieldPath, load_file, parse_path
from enforcers.record_validator import RecordValidator, validator_for
from enforcers.registry_client import RegisteredVersion, RegistryClient, RegistryError

__all__ = [
    "ContractSource",
    "ContractSourceError",
    "ResolvedContract",
    "UnknownSchemaId",
    "is_contract_file",
]

log = logging.getLogger(__name__)

_SPEC = re.compile(r"^(?P<name>[^@\s]+)(?:@(?P<version>latest|[1-9][0-9]*))?$")
_FILE_SUFFIXES = (".yaml", ".yml", ".json")


class ContractSourceError(Exception):
    """The contract cannot be resolved (unknown name or version, unreadable file...)."""


class UnknownSchemaId(ContractSourceError):
    """A framed message names a global schema id that no registered version has."""

    def __init__(self, global_id: int, reason: str = "unknown") -> None:
        super().__init__(f"schema id {global_id}: {reason}")
        self.global_id = global_id


@dataclass(frozen=True, slots=True, eq=False)
class ResolvedContract:
    """One contract version, ready to check records: its compiled validator included."""

    contract: Contract
    version: int | None
    global_id: int | None = None
    validator: RecordValidator = field(init=False)
    freshness_field: FieldPath | None = field(init=False)
    # The schema asserts format date-time there: every valid record holds RFC 3339 text.
    freshness_checked: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "validator", validator_for(self.contract, self.version))
        sla = self.contract.sla
        path = parse_path(sla.freshness.field) if sla and sla.freshness else None
        object.__setattr__(self, "freshness_field", path)
        checked = path is not None and path in self.validator.date_times
        object.__setattr__(self, "freshness_checked", checked)

    @property
    def name(self) -> str:
        return self.contract.name

    def event_text(self, record: Any) -> str | None:
        """The SLA freshness field's value, when it is a string."""
        path = self.freshness_field
        if path is None:
            return None
        value = record
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value if isinstance(value, str) else None

    def event_time(self, record: Any) -> datetime | None:
        """The record's event time: the SLA freshness field, when it holds a date-time."""
        text = self.event_text(record)
        return None if text is None else parse_event_time(text)


def parse_event_time(text: str) -> datetime | None:
    """A date-time text as an aware datetime (UTC when it names no offset); None if not one.

    A leap second (``:60``, valid RFC 3339) is read as the second before it: Python's
    datetime has no 60th second.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if text[16:19] != ":60":
            return None
        try:
            moment = datetime.fromisoformat(f"{text[:17]}59{text[19:]}")
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_contract_file(spec: str) -> bool:
    """Whether `spec` names a contract file (an existing file, or a YAML/JSON file name)."""
    return Path(spec).is_file() or spec.lower().endswith(_FILE_SUFFIXES)


IdMapping = Mapping[int, tuple[Contract, int | None]]


class ContractSource:
    """The contract version(s) records of one stream are checked against.

    Build with `from_file`, `from_registry`, `from_contract` or `parse` (``NAME[@VERSION]``
    or FILE). `current()` is the version for unframed records; `by_id(global_id)` the one a
    Confluent-framed record names. Both are cheap after the first call.
    """

    def __init__(
        self,
        *,
        name: str,
        fixed: ResolvedContract | None = None,
        client: RegistryClient | None = None,
        version: int | str = "latest",
        ids: IdMapping | None = None,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fixed is None and client is None:
            raise ValueError("a ContractSource needs a contract or a registry client")
        self.name = name
        self.client = client
        self.requested_version = version
        self.refresh_interval = refresh_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._by_id: dict[int, ResolvedContract] = {}
        self._unknown_ids: dict[int, tuple[float, str]] = {}  # id -> (retry after, reason)
        for global_id, (contract, contract_version) in (ids or {}).items():
            self._by_id[global_id] = ResolvedContract(contract, contract_version, global_id)
        self._current: ResolvedContract | None = fixed
        # Only ``latest`` from the registry is ever looked at again.
        self._next_refresh: float | None = None
        self._revalidating = False  # a background revalidation is under way
        # Revalidations started, and the latest whose answer is in force: an answer that
        # arrives after a later one's (a slow background request, then refresh()) is stale.
        self._asked = self._answered = 0
        if fixed is None:
            self._current = self._fetch()
            if str(version) == "latest":
                self._next_refresh = clock() + refresh_interval

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_contract(
        cls,
        contract: Contract,
        version: int | None = None,
        *,
        global_id: int | None = None,
        ids: IdMapping | None = None,
    ) -> ContractSource:
        """A fixed, in-memory contract (`version` and `global_id` as it is registered, if)."""
        fixed = ResolvedContract(contract, version, global_id)
        source = cls(name=contract.name, fixed=fixed, ids=ids)
        if global_id is not None:
            source._by_id.setdefault(global_id, fixed)
        elif ids:
            # The mapping may say under which id this very contract is registered.
            for known in source._by_id.values():
                if known.contract.fingerprint == contract.fingerprint and (
                    version is None or known.version == version
                ):
                    source._current = known
                    break
        return source

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        version: int | None = None,
        *,
        global_id: int | None = None,
        ids: IdMapping | None = None,
    ) -> ContractSource:
        """A local contract file: no registry involved."""
        try:
            contract = load_file(str(path))
        except (OSError, ValueError) as exc:  # DocumentSyntaxError, ContractError
            raise ContractSourceError(f"{path}: {exc}") from exc
        return cls.from_contract(contract, version, global_id=global_id, ids=ids)

    @classmethod
    def from_registry(
        cls,
        client: RegistryClient,
        name: str,
        version: int | str = "latest",
        *,
        refresh_interval: float = 30.0,
        ids: IdMapping | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> ContractSource:
        """``name`` at ``version`` (a number, or ``latest``) from the registry."""
        return cls(
            name=name,
            client=client,
            version=version,
            ids=ids,
            refresh_interval=refresh_interval,
            clock=clock,
        )

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        client: RegistryClient | None = None,
        registry_url: str | None = None,
        refresh_interval: float = 30.0,
        ids: IdMapping | None = None,
    ) -> ContractSource:
        """``FILE`` or ``NAME[@VERSION]`` (VERSION a number or ``latest``, the default)."""
        if is_contract_file(spec):
            return cls.from_file(spec, ids=ids)
        match = _SPEC.match(spec)
        if match is None:
            raise ContractSourceError(
                f"{spec!r} is neither a contract file nor NAME[@VERSION] (e.g. orders.created@3)"
            )
        version: int | str = match["version"] or "latest"
        if version != "latest":
            version = int(version)
        client = client or RegistryClient(registry_url)
        return cls.from_registry(
            client, match["name"], version, refresh_interval=refresh_interval, ids=ids
        )

    # -- lookups -----------------------------------------------------------------------------

    def current(self) -> ResolvedContract:
        """The version unframed records are checked against.

        When ``latest`` is due for revalidation, a background thread asks the registry and
        this version stays in force meanwhile: a slow or hung registry never holds up a
        record.
        """
        due = self._next_refresh
        if due is not None and not self._revalidating and self._clock() >= due:
            self._revalidate_in_background()
        current = self._current
        assert current is not None
        return current

    def refresh(self) -> ResolvedContract:
        """Revalidate ``latest`` now and wait for the answer (a pinned version or a file is
        returned as it is)."""
        if self._next_refresh is not None:
            self._revalidate()
        return self.current()

    def by_id(self, global_id: int) -> ResolvedContract:
        """The version with this global id; UnknownSchemaId if there is none.

        Found ids are cached for good (versions are immutable); an unknown one is asked
        about again only after `refresh_interval`. RegistryError (registry unreachable)
        propagates: the record can be retried, it is not invalid.
        """
        found = self._by_id.get(global_id)
        if found is not None:
            return found
        with self._lock:
            found = self._by_id.get(global_id)
            if found is not None:
                return found
            unknown = self._unknown_ids.get(global_id)
            if unknown is not None and self._clock() < unknown[0]:
                raise UnknownSchemaId(global_id, unknown[1])
            registered = self._lookup_id(global_id)
            resolved = ResolvedContract(
                registered.contract, registered.version, registered.id or global_id
            )
            self._by_id[global_id] = resolved
            self._unknown_ids.pop(global_id, None)
            return resolved

    # -- registry ----------------------------------------------------------------------------

    def _lookup_id(self, global_id: int) -> RegisteredVersion:
        if self.client is None:
            reason = "unknown to this local contract source (pass ids=)"
            self._forget(global_id, reason)
            raise UnknownSchemaId(global_id, reason)
        try:
            return self.client.get_by_id(global_id)
        except RegistryError as exc:
            if exc.status == 404:
                reason = "no registered version has this id"
                self._forget(global_id, reason)
                raise UnknownSchemaId(global_id, reason) from exc
            raise

    def _forget(self, global_id: int, reason: str) -> None:
        self._unknown_ids[global_id] = (self._clock() + self.refresh_interval, reason)

    def _fetch(self) -> ResolvedContract:
        assert self.client is not None
        try:
            registered = self.client.get_version(self.name, self.requested_version)
        except RegistryError as exc:
            raise ContractSourceError(
                f"{self.name}@{self.requested_version}: {exc.message} [{exc.code}]"
            ) from exc
        return self._resolved(registered)

    def _resolved(self, registered: RegisteredVersion) -> ResolvedContract:
        known = self._by_id.get(registered.id)
        if known is not None and known.contract.fingerprint == registered.fingerprint:
            return known
        resolved = ResolvedContract(registered.contract, registered.version, registered.id)
        self._by_id[registered.id] = resolved
        return resolved

    def _revalidate_in_background(self) -> None:
        # Not waiting for the lock: `by_id` may hold it while the registry is slow to answer
        # for an unknown id, and this is the record path. The next record tries again.
        if not self._lock.acquire(blocking=False):
            return
        try:
            due = self._next_refresh
            if self._revalidating or due is None or self._clock() < due:
                return  # another thread saw it due first
            self._revalidating = True
        finally:
            self._lock.release()
        thread = threading.Thread(
            target=self._revalidate,
            args=(True,),
            name=f"accord-revalidate-{self.name}",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to be had: try again when due next
            log.warning("cannot revalidate %s in the background: %s", self.name, exc)
            with self._lock:
                self._revalidating = False
                self._next_refresh = self._clock() + self.refresh_interval

    def _revalidate(self, background: bool = False) -> None:
        assert self.client is not None
        with self._lock:
            self._asked += 1
            asked = self._asked
        try:
            # The client sends If-None-Match: an unchanged version costs a 304.
            registered = self.client.get_version(self.name, self.requested_version)
            with self._lock:
                if asked < self._answered:
                    return  # a later revalidation's answer is in force already
                self._answered = asked
                current = self._current
                if current is not None and current.global_id == registered.id:
                    return
                self._current = self._resolved(registered)
            log.info("%s: now checking against version %s", self.name, registered.version)
        except Exception as exc:  # whatever went wrong, the version in force stays
            log.warning(
                "cannot revalidate %s@%s (%s); keeping version %s",
                self.name,
                self.requested_version,
                exc,
                self._current.version if self._current else None,
            )
        finally:
            with self._lock:
                self._next_refresh = self._clock() + self.refresh_interval
                if background:
                    self._revalidating = False
