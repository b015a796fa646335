"""Batch enforcement: a contract validated on pandas, polars or PySpark DataFrames.

`validate(df, contract)` checks the schema (through pandera), the CEL rules (compiled to
column expressions, row-wise only as a fallback), dataset quality and SLAs, and returns a
`ValidationReport`; `@enforce(contract)` does it for the frame a pipeline step returns.
"""

from enforcers.batch.enforce import enforce, split
from enforcers.batch.report import CheckResult, ContractBreach, ValidationReport
from enforcers.batch.spec import NotChecked, TableSpec, UnmappableField, table_spec
from enforcers.batch.validate import Reporter, resolve_contract, validate

__all__ = [
    "CheckResult",
    "ContractBreach",
    "NotChecked",
    "Reporter",
    "TableSpec",
    "UnmappableField",
    "ValidationReport",
    "enforce",
    "pandera_schema",
    "resolve_contract",
    "split",
    "table_spec",
    "validate",
]


def pandera_schema(contract: object, backend: str = "pandas") -> object:
    """The contract as a pandera schema for `backend` (pandas, polars or pyspark)."""
    from enforcers.batch.validate import resolve_contract as _resolve

    resolved = _resolve(contract)  # type: ignore[arg-type]
    spec = table_spec(resolved.contract)
    if backend == "pandas":
        from enforcers.batch.backends.pandas import pandera_schema as build
    elif backend == "polars":
        from enforcers.batch.backends.polars import pandera_schema as build  # type: ignore[assignment]
    elif backend == "pyspark":
        from enforcers.batch.backends.spark import pandera_schema as build  # type: ignore[assignment]
    else:
        raise ValueError(f"unknown backend {backend!r}: pandas, polars or pyspark")
    return build(spec)
