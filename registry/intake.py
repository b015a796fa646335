"""Request bodies to contracts: media type, parse, check, load, with every problem located.

Loading is pure and deterministic, so a body seen before is answered from a small cache:
clients that re-send the same document (idempotent publishes, CI dry runs) skip the
contract-schema validation and CEL compilation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from contracts import (
    Contract,
    ContractError,
    DocumentSyntaxError,
    Problem,
    SourceDocument,
    canonical_json,
    check_document,
    load_contract,
    parse_text,
)
from contracts.odcs import OdcsError, import_odcs
from registry import limits
from registry.cache import LruCache
from registry.errors import InvalidContract, NameMismatch, PayloadTooLarge, UnsupportedMediaType

__all__ = [
    "MAX_BODY_BYTES",
    "MEDIA_TYPES",
    "Candidate",
    "candidate_from_body",
    "document_format",
    "is_odcs",
]

MAX_BODY_BYTES = 1024 * 1024
MEDIA_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")

Format = Literal["json", "yaml"]
_FORMATS: dict[str, Format] = {
    "application/json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
}


def document_format(content_type: str | None) -> Format | None:
    """The format a Content-Type announces; None (sniff) when there is none."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _FORMATS:
        return _FORMATS[media]
    if media.endswith("+json"):
        return "json"
    raise UnsupportedMediaType(
        f"Content-Type {media!r} is not a contract document format; "
        "send application/json or application/yaml",
        {"supported": list(MEDIA_TYPES)},
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A loaded contract with its canonical JSON and fingerprint, computed once."""

    contract: Contract
    document: str
    fingerprint: str

    @classmethod
    def of(cls, contract: Contract) -> Candidate:
        return cls(contract, canonical_json(contract.to_document()), contract.fingerprint)


_loaded: LruCache[bytes, Candidate | list[Problem]] = LruCache(512)


def is_odcs(data: object) -> bool:
    """Whether a parsed document is ODCS v3 (`apiVersion: v3.*`) rather than Accord's format."""
    return isinstance(data, Mapping) and str(data.get("apiVersion", "")).startswith("v3")


def _from_odcs(data: Mapping[str, Any], name: str) -> Candidate | list[Problem]:
    try:
        imported = import_odcs(data)
    except OdcsError as exc:
        return list(exc.problems)
    found = [c for c in imported.contracts if c.name == name]
    if len(found) != 1:
        names = ", ".join(c.name for c in imported.contracts)
        return [
            Problem("/schema", f"no schema object converts to {name!r} (found: {names})", "name")
        ]
    return Candidate.of(found[0])


def _load(body: bytes, fmt: Format | None, name: str, odcs: bool) -> Candidate | list[Problem]:
    try:
        doc = parse_text(body, "request body", fmt)
    except DocumentSyntaxError as exc:
        return [Problem(exc.pointer, exc.reason, "syntax", line=exc.line)]
    too_deep = limits.document_problems(doc.data)
    if too_deep:
        return too_deep
    loaded = _load_parsed(doc, name, odcs)
    if isinstance(loaded, Candidate):
        return limits.schema_problems(loaded.contract.schema) or loaded
    return loaded


def _load_parsed(doc: SourceDocument, name: str, odcs: bool) -> Candidate | list[Problem]:
    if odcs or is_odcs(doc.data):
        if not isinstance(doc.data, Mapping):
            return [Problem("", "an ODCS document is a mapping", "odcs-schema")]
        return _from_odcs(doc.data, name)
    try:
        return Candidate.of(load_contract(doc))
    except ContractError as exc:
        return list(exc.problems)
    except (ValueError, TypeError, KeyError) as exc:  # a checked document the model still rejects
        return [*check_document(doc), Problem("", str(exc), "invalid")]


def candidate_from_body(
    body: bytes, content_type: str | None, name: str, *, odcs: bool = False
) -> Candidate:
    """The contract in `body`, which must be named `name`; raises the API's errors.

    `body` is an Accord contract, or an ODCS v3 document (`odcs`, or `apiVersion: v3.*`)
    whose schema object named `name` becomes the contract.
    """
    limit = limits.current().max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {limit}")
    fmt = document_format(content_type)
    key = f"{fmt or '-'}:{odcs}:{name}:{limits.current().key}".encode()
    key += hashlib.sha256(body).digest()
    loaded = _loaded.get(key)
    if loaded is None:
        loaded = _load(body, fmt, name, odcs)
        _loaded.put(key, loaded)
    if not isinstance(loaded, Candidate):
        first = loaded[0] if loaded else Problem("", "not a contract", "invalid")
        where = first.path or "/"
        raise InvalidContract(
            f"invalid contract: {where}: {first.message}"
            + (f" (and {len(loaded) - 1} more)" if len(loaded) > 1 else ""),
            [p.to_dict() for p in loaded],
        )
    if loaded.contract.name != name:
        raise NameMismatch(
            f"name: the document names {loaded.contract.name!r} but the path {name!r}",
            {"path": "/name", "document": loaded.contract.name, "url": name},
        )
    return loaded
