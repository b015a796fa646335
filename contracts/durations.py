"""Durations as contracts write them: ISO 8601 (``PT15M``) or short form (``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DurationTooLong", "format_duration", "parse_duration"]

_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_SHORT_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


class DurationTooLong(ValueError):
    """A well-formed duration past what a timedelta holds (999999999 days)."""


def parse_duration(text: str) -> timedelta:
    """Parse ``PT15M``, ``P1DT2H``, ``90s`` or ``1h30m``; raise ValueError otherwise
    (`DurationTooLong` when the text is a duration but too long for any use)."""
    try:
        return _parse_duration(text)
    except OverflowError:
        raise DurationTooLong(f"duration too long: {text!r} (at most 999999999 days)") from None


def _parse_duration(text: str) -> timedelta:
    iso = _ISO.match(text)
    if iso and text not in ("P", "PT") and not text.endswith("T"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v is not None}
        return timedelta(
            weeks=parts.get("w", 0),
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    pos, total = 0, timedelta()
    for match in _SHORT_PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _SHORT_UNITS[match.group(2)]
        pos = match.end()
    if pos == len(text) and pos > 0:
        return total
    raise ValueError(f"not a duration: {text!r} (use ISO 8601 like PT15M, or 15m, 1h30m, 2d)")


def format_duration(value: timedelta) -> str:
    """Render as ISO 8601, the canonical form contracts are stored in."""
    seconds = value.total_seconds()
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{int(days)}D" if days else "")
    clock = (
        (f"{int(hours)}H" if hours else "")
        + (f"{int(minutes)}M" if minutes else "")
        + (f"{secs:g}S" if secs else "")
    )
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"
