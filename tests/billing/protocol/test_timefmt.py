"""RFC 3339 UTC timestamps have exactly one accepted spelling per instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
