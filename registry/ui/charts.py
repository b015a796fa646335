"""Breach charts as inline SVG, drawn on the server: no script, no build, no CDN."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

__all__ = ["KIND_COLOURS", "Range", "bar_chart", "range_of"]

KIND_COLOURS = {
    "schema": "#d9534f",
    "rule": "#f0883e",
    "parse": "#8957e5",
    "quality": "#1f6feb",
    "sla": "#bf3989",
}
OTHER = "#6e7781"


@dataclass(frozen=True, slots=True)
class Range:
    key: str
    label: str
    span: timedelta
    bucket: timedelta


RANGES = {
    "24h": Range("24h", "24 hours", timedelta(hours=24), timedelta(hours=1)),
    "7d": Range("7d", "7 days", timedelta(days=7), timedelta(hours=6)),
    "30d": Range("30d", "30 days", timedelta(days=30), timedelta(days=1)),
}


def range_of(key: str | None) -> Range:
    return RANGES.get(key or "", RANGES["24h"])


def _floor(moment: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude: int = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def bar_chart(
    samples: Iterable[tuple[datetime, str, int]],
    chart_range: Range,
    now: datetime | None = None,
    *,
    width: int = 760,
    height: int = 220,
) -> str:
    """A stacked bar chart of breach counts per bucket and kind over `chart_range`.

    `samples` are (window start, kind, count). Each bar is a ``rect.bar`` with
    ``data-start``, ``data-kind`` and ``data-count``, titled for a hover tooltip.
    """
    now = now or datetime.now(UTC)
    step = chart_range.bucket
    last = _floor(now, step)
    count = int(chart_range.span / step)
    starts = [last - step * i for i in range(count - 1, -1, -1)]
    first = starts[0]
    stacks: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for start, kind, value in samples:
        bucket = _floor(start if start.tzinfo else start.replace(tzinfo=UTC), step)
        if bucket >= first:
            stacks[min(bucket, last)][kind] += value
    peak = _nice_max(max((sum(s.values()) for s in stacks.values()), default=0))
    left, right, top, bottom = 44, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / count
    bar_w = max(slot * 0.72, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Breaches per {_step_label(step)} over the last {chart_range.label}" '
        f'data-total="{sum(sum(s.values()) for s in stacks.values())}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        label = f"{peak * fraction:g}"
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    label_every = max(1, count // 8)
    for index, start in enumerate(starts):
        x = left + slot * index + (slot - bar_w) / 2
        y_base = float(top + plot_h)
        for kind, value in sorted(stacks.get(start, {}).items()):
            h = plot_h * value / peak
            y_base -= h
            colour = KIND_COLOURS.get(kind, OTHER)
            when = start.strftime("%Y-%m-%d %H:%M")
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 1.5):.1f}" fill="{colour}" rx="1.5" '
                f'data-start="{start.isoformat()}" data-kind="{escape(kind)}" '
                f'data-count="{value}"><title>{when} UTC: {value} {escape(kind)}</title></rect>'
            )
        if index % label_every == 0:
            text = start.strftime("%H:%M") if step < timedelta(days=1) else start.strftime("%d %b")
            if step < timedelta(days=1) and start.hour == 0 and start.minute == 0:
                text = start.strftime("%d %b")
            parts.append(
                f'<text class="axis" x="{left + slot * index + slot / 2:.1f}" '
                f'y="{height - 8}" text-anchor="middle">{text}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{left}" x2="{width - right}" '
        f'y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _step_label(step: timedelta) -> str:
    if step >= timedelta(days=1):
        return "day"
    hours = int(step.total_seconds() // 3600)
    return "hour" if hours == 1 else f"{hours} hours"
