"""The compiled record validator: one per contract version, built once, run per record.

JSON Schema (formats asserted) runs in jsonschema-rs, a compiled validator; CEL rules run as
generated Python (`enforcers.cel_python`). A valid record costs one `is_valid` call plus the
rules; only an invalid one pays for collecting structured failures.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema_rs
import orjson

from contracts import Contract, FieldPath, Severity, plain_date_times
from enforcers.cel_python import CelEvaluationError, CompiledCel, compile_all, compile_cel

__all__ = ["Failure", "RecordValidator", "validator_for"]

FailureKind = Literal["schema", "rule", "parse"]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one record breaches its contract."""

    contract: str
    version: int | None
    kind: FailureKind
    rule: str  # the JSON Schema keyword (`required`, `format`...) or the CEL rule's name
    path: str  # JSON pointer to the offending value ("" is the whole record)
    message: str
    severity: Severity = Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "kind": self.kind,
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "severity": self.severity.value,
        }


def _pointer(parts: list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _keyword(schema_path: list[str | int]) -> str:
    for part in reversed(schema_path):
        if isinstance(part, str) and not (part.isascii() and part.isdigit()):
            return part
    return "schema"


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    severity: Severity
    cel: CompiledCel


class RecordValidator:
    """Checks records against one contract version: schema, formats, then rules."""

    def __init__(self, contract: Contract, version: int | None = None) -> None:
        self.contract = contract
        self.version = version
        # offline: a schema never makes the validator reach out over the network.
        self._schema = jsonschema_rs.validator_for(
            contract.schema if isinstance(contract.schema, bool) else dict(contract.schema),
            validate_formats=True,
            offline=True,
        )
        # Messages quote the offending value; for fields classified PII that value must not
        # leave the process, so their messages come from a validator that masks values.
        self._masked = jsonschema_rs.validator_for(
            contract.schema if isinstance(contract.schema, bool) else dict(contract.schema),
            validate_formats=True,
            offline=True,
            mask="<redacted>",
        )
        self._pii = tuple(contract.pii_fields)
        self._rules = tuple(
            _Rule(rule.name, rule.severity, compile_cel(rule.expression)) for rule in contract.rules
        )
        self.date_times: frozenset[FieldPath] = plain_date_times(contract.schema)
        """Fields a valid record holds as RFC 3339 text (when a string): formats asserted."""
        # A record that passes every rule (the common case) costs one call; when some rule
        # is not native there is no such call, and each rule is asked on its own.
        expressions = tuple(rule.expression for rule in contract.rules)
        self._rules_hold = compile_all(expressions, self.date_times) or _never
        self._is_valid = self._schema.is_valid
        self.validate_json = self._json_validator()

    @property
    def rules_native(self) -> int:
        """How many rules run as generated Python (the rest use the CEL interpreter)."""
        return sum(rule.cel.native for rule in self._rules)

    def _failure(
        self, kind: FailureKind, rule: str, path: str, message: str, severity: Severity
    ) -> Failure:
        return Failure(self.contract.name, self.version, kind, rule, path, message, severity)

    def validate(self, record: Any) -> list[Failure]:
        """Every failure of `record`; empty when it is valid. Warnings do not make it invalid."""
        if not self._is_valid(record):
            # Rules assume the shape the schema promises, so they are not run on a record
            # that does not have it: their errors would only repeat the schema's.
            return self._schema_failures(record)
        if self._rules_hold(record):
            return []
        return self._rule_failures(record)

    def _rule_failures(self, record: Any) -> list[Failure]:
        failures = []
        for rule in self._rules:
            try:
                result = rule.cel.evaluate(record)
            except CelEvaluationError as exc:
                # An evaluation error may quote a value ("invalid date-time: '12/03/1985 Ada
                # Smith'"), so does what a rule gave: with PII fields, their kind only.
                why = "an error" if self._pii else str(exc)
                failures.append(
                    self._failure("rule", rule.name, "", f"cannot evaluate: {why}", rule.severity)
                )
                continue
            if result is not True:
                gave = f"a {type(result).__name__}" if self._pii else repr(result)
                message = (
                    f"rule {rule.name!r} is false: {rule.cel.expression}"
                    if result is False
                    else f"rule {rule.name!r} gave {gave}, not a bool"
                )
                failures.append(self._failure("rule", rule.name, "", message, rule.severity))
        return failures

    def _quotes_pii(self, instance_path: list[str | int]) -> bool:
        """Whether the value an error at `instance_path` quotes may hold PII: it is a PII
        field, inside one, or holds one (a parent of it, the record itself)."""
        fields = tuple(str(p) for p in instance_path if not isinstance(p, int))
        return any(fields[: len(pii)] == pii or pii[: len(fields)] == fields for pii in self._pii)

    def _schema_failures(self, record: Any) -> list[Failure]:
        try:
            return self._described_failures(record)
        except ValueError:
            # jsonschema-rs cannot describe an error inside a value nested ~256 levels deep
            # ("Recursion limit reached"); the record is invalid all the same, and must go
            # where invalid records go rather than stop the stream.
            message = "does not match the schema; nested too deeply to say where"
            return [self._failure("schema", "schema", "", message, Severity.ERROR)]

    def _described_failures(self, record: Any) -> list[Failure]:
        failures = []
        masked: dict[tuple[str, str], str] | None = None
        for error in self._schema.iter_errors(record):
            message = error.message
            if self._quotes_pii(error.instance_path):
                if masked is None:
                    masked = {
                        (_pointer(e.instance_path), _pointer(e.schema_path)): e.message
                        for e in self._masked.iter_errors(record)
                    }
                key = (_pointer(error.instance_path), _pointer(error.schema_path))
                message = masked.get(key, f"invalid value ({_keyword(error.schema_path)})")
            failures.append(
                self._failure(
                    "schema",
                    _keyword(error.schema_path),
                    _pointer(error.instance_path),
                    message,
                    Severity.ERROR,
                )
            )
        return failures

    def is_valid(self, record: Any) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.validate(record))

    validate_json: Callable[[bytes | str], tuple[Any, list[Failure]]]
    """Parse and validate one JSON value; unparseable input is a `parse` failure."""

    def _json_validator(self) -> Callable[[bytes | str], tuple[Any, list[Failure]]]:
        # `validate`, inlined in a closure: this is the per-record path of every stream, and
        # closure cells are cheaper to read than attributes.
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        is_valid, rules_hold = self._is_valid, self._rules_hold
        rule_failures, schema_failures = self._rule_failures, self._schema_failures

        def validate_json(raw: bytes | str) -> tuple[Any, list[Failure]]:
            try:
                record = loads(raw)
            except decode_error as exc:
                return None, [
                    self._failure("parse", "json", "", f"not JSON: {exc}", Severity.ERROR)
                ]
            if is_valid(record):
                if rules_hold(record):
                    return record, []
                return record, rule_failures(record)
            return record, schema_failures(record)

        return validate_json


def _never(_record: Any) -> bool:
    return False


_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, int | None], RecordValidator] = OrderedDict()
_cache_lock = threading.Lock()


def validator_for(contract: Contract, version: int | None = None) -> RecordValidator:
    """The validator for this contract version, compiled on first use and then reused.

    Keyed by content (the fingerprint), so an equal contract loaded twice shares one.
    """
    key = (contract.fingerprint, version)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    validator = RecordValidator(contract, version)
    with _cache_lock:
        _cache[key] = validator
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return validator
