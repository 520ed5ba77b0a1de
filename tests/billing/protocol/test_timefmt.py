"""RFC 3339 UTC timestamps have exactly one accepted spelling per instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kernel.protocol.errors import NaiveDatetimeError, TimestampError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T10:05:03.500000Z",
        "2026-11-21T10:05:03.50Z",
        "2026-11-21T10:05:03.0Z",
    ],
)
def test_fractions_with_trailing_zeros_are_refused(text: str) -> None:
    """``.5`` is the only spelling of half a second; ``.50`` and ``.0`` are refused."""
    with pytest.raises(ValueError):
        parse_rfc3339_utc(text)


@pytest.mark.parametrize("micro", [0, 1, 10, 500000, 123456, 999999])
def test_format_then_parse_round_trips(micro: int) -> None:
    """Every instant formats to a string the parser accepts and maps back."""
    moment = datetime(2026, 11, 21, 10, 5, 3, micro, tzinfo=UTC)
    text = format_rfc3339_utc(moment)
    assert parse_rfc3339_utc(text) == moment
    assert not text.rstrip("Z").endswith("0") or micro == 0


@pytest.mark.parametrize(
    "value", [20261121, "2026-11-21 10:05:03Z", "2026-02-30T00:00:00Z"]
)
def test_a_bad_timestamp_is_timestamp_error(value: object) -> None:
    """Malformed strings, non-strings and impossible dates raise
    TimestampError (``timestamp_invalid``), still a ValueError."""
    with pytest.raises(TimestampError) as info:
        parse_rfc3339_utc(value)
    assert info.value.code == "timestamp_invalid"
    assert isinstance(info.value, ValueError)


def test_formatting_a_naive_datetime_is_naive_datetime_error() -> None:
    """format_rfc3339_utc(naive) raises NaiveDatetimeError."""
    with pytest.raises(NaiveDatetimeError) as info:
        format_rfc3339_utc(datetime(2026, 11, 21, 10, 5, 3))
    assert info.value.code == "naive_datetime"
