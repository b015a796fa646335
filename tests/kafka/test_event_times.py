"""The consumer's latest event time per report: texts compared when their shape allows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcers.contract_source import parse_event_time
from enforcers.kafka.consumer import _Tally

moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


@st.composite
def date_time_texts(draw: st.DrawFn) -> str:
    """RFC 3339 texts of one moment in the shapes records carry them."""
    moment = draw(moments)
    shape = draw(st.sampled_from(["Z", "Z-millis", "Z-micros", "offset", "naive", "leap"]))
    if shape == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if shape == "Z-millis":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if shape == "Z-micros":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if shape == "offset":
        hours = draw(st.integers(-12, 14))
        return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()
    if shape == "naive":
        return moment.replace(tzinfo=None).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:60Z")  # a leap second's shape


@given(st.lists(date_time_texts(), min_size=1, max_size=30))
def test_the_latest_event_time_is_the_greatest_whatever_the_shapes(texts: list[str]) -> None:
    tally = _Tally(checked=True, texts=list(texts))
    expected = max(m for m in map(parse_event_time, texts) if m is not None)
    assert tally.latest_time() == expected


def test_unchecked_text_is_parsed_record_by_record() -> None:
    # Without the schema's date-time check a text could be anything: "9999-99-99T..."
    # compares greatest, yet is not a time, and must not hide the real latest one.
    texts = ["2026-01-01T00:00:00Z", "9999-99-99T99:99:99Z", "2026-01-01T00:00:01Z"]
    assert _Tally(checked=False, texts=texts).latest_time() == datetime(
        2026, 1, 1, 0, 0, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "texts",
    [
        # One length, but not all UTC: an offset puts the text that sorts last earlier.
        ["2026-01-01T00:30:00.0000Z", "2026-01-01T01:00:00+01:00"],
        # One length, one "t" in lower case (valid RFC 3339), which sorts after "T".
        ["2026-01-01T00:00:01Z", "2026-01-01t00:00:00Z"],
        # All "...Z", lengths differ: "00.5Z" sorts before "00Z" yet is later.
        ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z"],
    ],
)
def test_texts_of_mixed_shapes_are_each_parsed(texts: list[str]) -> None:
    expected = max(m for m in map(parse_event_time, texts) if m is not None)
    assert _Tally(checked=True, texts=texts).latest_time() == expected
    assert _Tally(checked=True, texts=texts[::-1]).latest_time() == expected


def test_no_texts_no_time() -> None:
    assert _Tally(checked=True).latest_time() is None
