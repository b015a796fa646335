"""Schema Registry errors: ``{"error_code": 40401, "message": ...}`` as Confluent returns them.

These apply to the Confluent-compatible routes only; the native API keeps its own
``{"error": {...}}`` body. Codes and messages follow Confluent's ``Errors`` class.
"""

from __future__ import annotations

__all__ = [
    "SchemaRegistryError",
    "compatibility_not_configured",
    "incompatible",
    "invalid_compatibility",
    "invalid_mode",
    "invalid_ruleset",
    "invalid_schema",
    "invalid_subject",
    "invalid_version",
    "mode_not_configured",
    "not_permitted",
    "schema_not_found",
    "schema_too_large",
    "subject_not_found",
    "subject_not_soft_deleted",
    "subject_soft_deleted",
    "version_not_found",
    "version_not_soft_deleted",
    "version_soft_deleted",
]


class SchemaRegistryError(Exception):
    """A Schema Registry API failure: HTTP `status`, Confluent `error_code`, `message`."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def subject_not_found(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(version: int | str) -> SchemaRegistryError:
    return SchemaRegistryError(404, 40402, f"Version {version} not found.")


def schema_not_found(schema_id: int | str | None = None) -> SchemaRegistryError:
    message = "Schema not found" if schema_id is None else f"Schema {schema_id} not found"
    return SchemaRegistryError(404, 40403, message)


def subject_soft_deleted(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404,
        40404,
        f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently",
    )


def subject_not_soft_deleted(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
    )


def version_soft_deleted(subject: str, version: int) -> SchemaRegistryError:
    return SchemaRegistryError(
        404,
        40406,
        f"Subject '{subject}' Version {version} was soft deleted. "
        "Set permanent=true to delete permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> SchemaRegistryError:
    return SchemaRegistryError(
        404,
        40407,
        f"Subject '{subject}' Version {version} was not deleted first before being "
        "permanently deleted",
    )


def compatibility_not_configured(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
    )


def mode_not_configured(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40409, f"Subject '{subject}' does not have subject-level mode configured"
    )


def incompatible(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(409, 40901, message)


def invalid_schema(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42201, message)


def invalid_version(version: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42202,
        f"The specified version '{version}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility(level: object) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42203,
        f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, "
        "full, backward_transitive, forward_transitive, and full_transitive "
        "(and compatibilityPolicy STRICT or LENIENT)",
    )


def invalid_mode(mode: object) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42204,
        f"Invalid mode {mode!r}. Valid values are READWRITE, READONLY, READONLY_OVERRIDE "
        "and IMPORT",
    )


def not_permitted(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42205, message)


def invalid_subject(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42208,
        f"The specified subject '{subject}' is not a valid contract name: letters, digits, "
        "'_' and '-' in dot-separated words (e.g. orders-value, com.acme.Order), at most "
        "200 characters",
    )


def schema_too_large(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42209, message)


def invalid_ruleset(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42210, message)
