"""Registered consumers of a contract: who reads which versions and which fields."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.paths import FieldPath, parse_path

__all__ = ["Consumer"]


@dataclass(frozen=True, slots=True)
class Consumer:
    """A team's declared dependency on a contract.

    `fields` are the field paths it reads (dotted or JSON pointer); empty means it reads
    every field, so every breaking change affects it. The version range is inclusive;
    `max_version` None means "and every later version".
    """

    name: str
    team: str
    contact: str | None = None
    min_version: int = 1
    max_version: int | None = None
    fields: tuple[str, ...] = ()

    def reads_version(self, version: int) -> bool:
        return self.min_version <= version and (
            self.max_version is None or version <= self.max_version
        )

    def reads(self, path: FieldPath) -> bool:
        """Whether a change at `path` can reach what this consumer reads.

        A change to a field's parent (``customer``) reaches a reader of ``customer.email``, and
        a change inside a field (``customer.email``) reaches a reader of ``customer``.
        """
        if not self.fields or not path:
            return True
        for declared in self.fields:
            mine = parse_path(declared)
            shared = min(len(mine), len(path))
            if mine[:shared] == path[:shared]:
                return True
        return False
