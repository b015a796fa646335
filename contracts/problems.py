"""Problems found in a contract document, located by JSON pointer and source line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from contracts.model import Severity

__all__ = ["ContractError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `path` is a JSON pointer into the document (``""`` is the root)."""

    path: str
    message: str
    code: str
    severity: Severity = Severity.ERROR
    line: int | None = None

    def at_line(self, line: int | None) -> Problem:
        return replace(self, line=line)

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.severity.value}: {self.path or '/'}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "message": self.message,
            "code": self.code,
            "severity": self.severity.value,
            "line": self.line,
        }


class ContractError(ValueError):
    """A document that is not a valid contract; `problems` says every reason."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(p.format(source) for p in self.problems)
        super().__init__(f"{source} is not a valid contract:\n{lines}")
