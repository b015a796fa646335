"""The contract language: model, file format, lint, compatibility. Pure: no I/O beyond files."""

from contracts.documents import DocumentSyntaxError, SourceDocument, parse_text, read_file
from contracts.durations import format_duration, parse_duration
from contracts.model import (
    SLA,
    Classification,
    CompatibilityConfig,
    CompatibilityMode,
    Contact,
    Contract,
    FieldSemantics,
    Freshness,
    Owner,
    Policy,
    QualityCheck,
    QualityType,
    Rule,
    Severity,
    Status,
    Threshold,
    Volume,
    canonical_json,
)
from contracts.paths import FieldPath, field_schemas, parse_path, plain_date_times
from contracts.problems import ContractError, Problem
from contracts.rules import CompiledRule, RuleSyntaxError, compile_rule
from contracts.validation import (
    check_document,
    load_contract,
    record_validator_class,
    schema_problems,
)

__all__ = [
    "SLA",
    "Classification",
    "CompatibilityConfig",
    "CompatibilityMode",
    "CompiledRule",
    "Contact",
    "Contract",
    "ContractError",
    "DocumentSyntaxError",
    "FieldPath",
    "FieldSemantics",
    "Freshness",
    "Owner",
    "Policy",
    "Problem",
    "QualityCheck",
    "QualityType",
    "Rule",
    "RuleSyntaxError",
    "Severity",
    "SourceDocument",
    "Status",
    "Threshold",
    "Volume",
    "canonical_json",
    "check_document",
    "compile_rule",
    "field_schemas",
    "format_duration",
    "load_contract",
    "load_file",
    "parse_duration",
    "parse_path",
    "parse_text",
    "plain_date_times",
    "read_file",
    "record_validator_class",
    "schema_problems",
]


def load_file(path: str) -> Contract:
    """Read, check and load one contract file (raises DocumentSyntaxError or ContractError)."""
    return load_contract(read_file(path))
