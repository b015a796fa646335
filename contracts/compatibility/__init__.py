"""Compatibility of contract versions: schema diff (Confluent taxonomy) and contract diff."""

from contracts.compatibility.check import check_compatibility, check_schemas
from contracts.compatibility.contract_diff import ContractChangeType, diff_contracts
from contracts.compatibility.report import (
    AffectedConsumer,
    Breaks,
    Change,
    CompatibilityReport,
    Layer,
)

__all__ = [
    "AffectedConsumer",
    "Breaks",
    "Change",
    "CompatibilityReport",
    "ContractChangeType",
    "Layer",
    "check_compatibility",
    "check_schemas",
    "diff_contracts",
]
