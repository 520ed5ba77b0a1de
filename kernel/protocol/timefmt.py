"""RFC 3339 UTC timestamps as the protocol writes them (``2026-11-21T10:05:03Z``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import NaiveDatetimeError, TimestampError

_RFC3339_UTC = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,5}[1-9]))?Z\Z",
    re.ASCII,
)


def parse_rfc3339_utc(value: object) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` into an aware UTC datetime.

    Only the UTC designator ``Z`` is accepted and a fraction may not end in 0,
    so each instant has one spelling (RFC 3339 §5.6 with the offset fixed to Z;
    1-6 fractional digits).

    Raises:
        TimestampError: (``timestamp_invalid``, also a ``ValueError``) if
            ``value`` is not such a string or not a real date.
    """
    if not isinstance(value, str):
        raise TimestampError(
            f"expected an RFC 3339 UTC string, found {type(value).__name__}"
        )
    match = _RFC3339_UTC.match(value)
    if not match:
        raise TimestampError(
            f"expected RFC 3339 UTC like 2026-11-21T10:05:03Z, found {value!r}"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0").ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:  # e.g. 2026-02-30: well formed, not a real date
        raise TimestampError(
            f"expected a real date and time, found {value!r} ({exc})"
        ) from None


def format_rfc3339_utc(moment: datetime) -> str:
    """Return ``moment`` (aware) as RFC 3339 UTC; a fraction only when non-zero,
    without trailing zeros (the one spelling :func:`parse_rfc3339_utc` accepts).

    Raises:
        NaiveDatetimeError: (``naive_datetime``, also a ``ValueError``) if
            ``moment`` is naive.
    """
    if moment.tzinfo is None:
        raise NaiveDatetimeError(
            f"expected a timezone-aware datetime, found naive {moment!r}"
        )
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        fraction = f"{moment.microsecond:06d}".rstrip("0")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
