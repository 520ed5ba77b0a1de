"""JSON field validation of tariff and charge documents (Django-free).

Every helper returns the validated value or raises
:class:`~billing.protocol.errors.TariffError` (``tariff_invalid``) whose
``field`` is the dotted path of the offending member (``pricing.tiers[1].up_to``)
and whose message gives what was expected and what was found. Money is never a
float: prices are decimal strings, amounts integers (docs/PROTOCOL.md §4.5).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from kernel.protocol import shape
from kernel.protocol.shape import MAX_SAFE_INTEGER, join_path, json_kind

from ..errors import TariffError

__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_QUANTITY",
    "decimal_str",
    "format_timestamp",
    "join_path",
    "json_kind",
    "parse_timestamp",
    "require_choice",
    "require_integer",
    "require_object",
    "require_unit_amount_decimal",
]

#: Largest accepted quantity (inclusive).
MAX_QUANTITY: Final = 10**15
#: Largest integer JCS can encode exactly (I-JSON, RFC 7493 §2.2): the bound of
#: ``amount_minor``, ``flat_amount``, ``up_to``, ``divide_by`` and ``version``.
MAX_AMOUNT_MINOR: Final = MAX_SAFE_INTEGER

_DECIMAL_RE: Final = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,12})?")
_MAX_INTEGER_DIGITS: Final = 16
_TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z"
)


def require_object(value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Return ``value`` if it is an object with exactly ``keys``, else raise
    :class:`TariffError` (:func:`kernel.protocol.shape.require_object`; the
    top level is named ``tariff``)."""
    return shape.require_object(
        value, keys, error=TariffError, path=path, what=path or "tariff"
    )


def require_integer(value: Any, path: str, *, minimum: int, maximum: int) -> int:
    """Return ``value`` if it is an integer (not a boolean) in
    ``minimum .. maximum``, else raise :class:`TariffError`."""
    return shape.require_integer(
        value,
        error=TariffError,
        field=path,
        minimum=minimum,
        maximum=maximum,
        message="{field} must be an integer, found {kind} {value!r}",
        range_message="{field} must be between {minimum} and {maximum}, found {value}",
    )


def require_choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of the strings ``choices``, else raise
    :class:`TariffError`."""
    if not isinstance(value, str) or value not in choices:
        raise TariffError(
            f"{path} must be one of {', '.join(choices)}, found {value!r}", field=path
        )
    return value


def require_unit_amount_decimal(value: Any, path: str) -> str:
    """Return a validated ``unit_amount_decimal`` string (minor units)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise TariffError(
            f'{path} must be a decimal string such as "0.05", found JSON number '
            f"{value!r}; numbers are refused so prices are never floats",
            field=path,
        )
    if not isinstance(value, str):
        raise TariffError(
            f"{path} must be a decimal string, found {json_kind(value)}", field=path
        )
    match = _DECIMAL_RE.fullmatch(value)
    if match is None or len(match.group(1)) > _MAX_INTEGER_DIGITS:
        raise TariffError(
            f"{path} must be a plain decimal string (no sign, exponent or leading "
            f"zeros; at most {_MAX_INTEGER_DIGITS} integer digits and 12 decimal "
            f"places), found {value!r}",
            field=path,
        )
    return value


def parse_timestamp(value: Any, path: str) -> datetime:
    """Parse an RFC 3339 UTC timestamp with whole seconds and a ``Z`` suffix."""
    match = _TIMESTAMP_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TariffError(
            f"{path} must be an RFC 3339 UTC timestamp like "
            f"\"2026-11-01T00:00:00Z\" (whole seconds, 'Z'), found {value!r}",
            field=path,
        )
    try:
        year, month, day, hour, minute, second = (int(p) for p in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise TariffError(
            f"{path} is not a valid date-time: {exc}", field=path
        ) from exc


def format_timestamp(value: datetime) -> str:
    """Return ``value`` as RFC 3339 UTC with whole seconds and ``Z``."""
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def decimal_str(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string without exponent or zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
