"""What runs inside users' pipelines: validators, Kafka and batch enforcement, reporting."""

# Batch enforcement (pandas/polars/PySpark), imported on first use so that `import enforcers`
# (the streaming path) does not pay for pandas and pandera.
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enforcers.batch import (
        CheckResult as CheckResult,
    )
    from enforcers.batch import (
        ContractBreach as ContractBreach,
    )
    from enforcers.batch import (
        ValidationReport as ValidationReport,
    )
    from enforcers.batch import (
        enforce as enforce,
    )
    from enforcers.batch import (
        pandera_schema as pandera_schema,
    )
    from enforcers.batch import (
        validate as validate,
    )

_BATCH = (
    "CheckResult",
    "ContractBreach",
    "ValidationReport",
    "enforce",
    "pandera_schema",
    "validate",
)


def __getattr__(name: str) -> Any:
    if name in _BATCH:
        import enforcers.batch as batch

        return getattr(batch, name)
    raise AttributeError(f"module 'enforcers' has no attribute {name!r}")
