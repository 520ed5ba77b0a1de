"""The tariff document: parsing, canonical JSON and ``tariff_hash``
(Django-free).

A tariff is the published, immutable price list of one metric
(docs/PROTOCOL.md §4.5). Choices this module makes:

* Timestamps are RFC 3339 UTC with whole seconds (``2026-11-01T00:00:00Z``),
  so each instant has exactly one spelling and ``tariff_hash`` depends on the
  instant only.
* ``unit_amount_decimal`` has at most 16 integer digits: any larger price
  makes every non-zero charge exceed the I-JSON integer range (RFC 7493 §2.2)
  that ``amount_minor`` must fit to be canonicalised.
* All keys are required (``flat_amount: 0``, ``effective_to: null``), so that
  ``to_json()`` of a parsed tariff equals its input and the hash is
  unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cached_property
from typing import Any, Final, cast

from kernel.protocol.errors import NaiveDatetimeError
from kernel.protocol.jcs import canonical_hash, exact_key

from ..errors import TariffError
from .currency import require_currency
from .fields import (
    MAX_AMOUNT_MINOR,
    format_timestamp,
    parse_timestamp,
    require_choice,
    require_integer,
    require_object,
)
from .pricing import ROUNDINGS, Pricing, Rounding, parse_pricing

__all__ = ["TariffDocument"]

_TARIFF_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Parsed tariffs by their exact JSON (:func:`kernel.protocol.jcs.exact_key`):
#: a bulk audit parses and hashes each tariff once, not once per bundle.
#: Only successful parses are kept; bounded (cleared when full).
_PARSED: dict[bytes, TariffDocument] = {}
_PARSED_MAX: Final = 256

_TARIFF_KEYS: Final = (
    "tariff_id",
    "version",
    "currency",
    "metric",
    "pricing",
    "rounding",
    "effective_from",
    "effective_to",
)


def _parse_tariff(value: Any) -> dict[str, Any]:
    """Return :class:`Tariff`'s fields, by name, parsed from a JSON object."""
    obj = require_object(value, "", _TARIFF_KEYS)
    tariff_id = obj["tariff_id"]
    if not isinstance(tariff_id, str) or not _TARIFF_ID_RE.fullmatch(tariff_id):
        raise TariffError(
            "tariff_id must be a string of 1 to 128 characters from "
            f"[A-Za-z0-9._:-], found {tariff_id!r}",
            field="tariff_id",
        )
    version = require_integer(
        obj["version"], "version", minimum=1, maximum=MAX_AMOUNT_MINOR
    )
    currency = require_currency(obj["currency"])
    metric = obj["metric"]
    if not isinstance(metric, str) or not metric:
        raise TariffError(
            f"metric must be a non-empty string, found {metric!r}", field="metric"
        )
    pricing = parse_pricing(obj["pricing"], "pricing")
    rounding = cast(
        Rounding, require_choice(obj["rounding"], "rounding", tuple(ROUNDINGS))
    )
    effective_from = parse_timestamp(obj["effective_from"], "effective_from")
    effective_to = None
    if obj["effective_to"] is not None:
        effective_to = parse_timestamp(obj["effective_to"], "effective_to")
        if effective_to <= effective_from:
            raise TariffError(
                f"effective_to {obj['effective_to']} must be after effective_from "
                f"{obj['effective_from']}",
                field="effective_to",
            )
    return {
        "tariff_id": tariff_id,
        "version": version,
        "currency": currency,
        "metric": metric,
        "pricing": pricing,
        "rounding": rounding,
        "effective_from": effective_from,
        "effective_to": effective_to,
    }


@dataclass(frozen=True)
class TariffDocument:
    """The tariff document: a published, immutable tariff version.

    The attestation's ``tariff`` member (docs/PROTOCOL.md §4.5; DESIGN.md,
    "The bundle"). Not the Django row :class:`billing.models.Tariff`, which
    names a price list whose versions hold these documents.

    Build it with :meth:`from_json`; direct construction is re-validated in
    ``__post_init__`` through the same parser, so every ``TariffDocument`` is
    valid.

    Attributes:
        tariff_id: 1-128 characters from ``[A-Za-z0-9._:-]``.
        version: integer >= 1.
        currency: ISO 4217 alphabetic code, three uppercase letters.
        metric: the meter event metric this tariff prices, non-empty.
        pricing: one of :class:`PerUnitPricing`, :class:`PackagePricing`,
            :class:`TieredPricing`.
        rounding: rule for the one rounding of the total to minor units:
            ``half_up``, ``half_even``, ``up`` (toward +inf) or ``down``.
        effective_from: aware UTC datetime, inclusive start of validity.
        effective_to: aware UTC datetime, exclusive end, or ``None`` (open).

    Raises:
        TariffError: (``tariff_invalid``) from the constructor if a field is
            invalid.
    """

    tariff_id: str
    version: int
    currency: str
    metric: str
    pricing: Pricing
    rounding: Rounding
    effective_from: datetime
    effective_to: datetime | None

    def __post_init__(self) -> None:
        """Re-validate the fields through the JSON parser (fail closed)."""
        try:
            as_json = self.to_json()
        except (AttributeError, TypeError, ValueError) as exc:
            raise TariffError(
                f"TariffDocument fields have the wrong types ({exc}); build "
                "tariffs with TariffDocument.from_json()"
            ) from exc
        if _parse_tariff(as_json) != {
            field.name: getattr(self, field.name) for field in fields(self)
        }:
            raise TariffError(
                "TariffDocument fields are not in canonical form (e.g. a naive "
                "datetime or a list instead of a tuple); build tariffs with "
                "TariffDocument.from_json()"
            )

    @classmethod
    def from_json(cls, obj: Any) -> TariffDocument:
        """Return the validated tariff parsed from a decoded JSON object.

        Args:
            obj: the tariff object, e.g. ``json.loads(...)`` of DESIGN.md's
                example. Every key is required, unknown keys are refused.

        Raises:
            TariffError: (``tariff_invalid``) with ``field`` set to the dotted
                path of the first offending value, e.g.
                ``pricing.tiers[1].up_to``.

        Parsing is pure and the result immutable, so a value seen before
        (the exact same JSON, :func:`kernel.protocol.jcs.exact_key`) returns
        the cached document, whose ``tariff_hash`` is then computed once.
        """
        key = exact_key(obj)
        if key is not None:
            hit = _PARSED.get(key)
            if hit is not None and type(hit) is cls:
                return hit
        parsed = cls(**_parse_tariff(obj))
        if key is not None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = parsed
        return parsed

    def to_json(self) -> dict[str, Any]:
        """Return the tariff as a JSON object (the canonical field set).

        ``TariffDocument.from_json(t.to_json()) == t``, and for a parsed tariff the
        result equals the input object.
        """
        return {
            "tariff_id": self.tariff_id,
            "version": self.version,
            "currency": self.currency,
            "metric": self.metric,
            "pricing": self.pricing.to_json(),
            "rounding": self.rounding,
            "effective_from": format_timestamp(self.effective_from),
            "effective_to": (
                None
                if self.effective_to is None
                else format_timestamp(self.effective_to)
            ),
        }

    @cached_property
    def tariff_hash(self) -> str:
        """Return SHA-256(JCS(to_json())), 64 lowercase hex characters.

        Spec: RFC 8785 (JCS) canonicalisation, DESIGN.md ``tariff_hash``.
        """
        return canonical_hash(self.to_json())

    def is_effective_at(self, at: datetime) -> bool:
        """Return whether ``effective_from <= at < effective_to``.

        Args:
            at: an aware datetime (any offset; compared as an instant).

        Raises:
            NaiveDatetimeError: (``naive_datetime``, also a ``ValueError``)
                if ``at`` is naive (a caller bug, not a bad tariff).
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise NaiveDatetimeError(
                f"is_effective_at() needs an aware datetime, found naive {at!r}"
            )
        if at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to
