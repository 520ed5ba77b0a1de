"""Tariffs and deterministic charge computation (Django-free).

A tariff is the published, immutable price list of one metric (DESIGN.md, "The
bundle"). Its pricing follows Stripe's price model (per-unit, package, and
graduated or volume tiers; https://docs.stripe.com/products-prices/pricing-models
and https://docs.stripe.com/api/prices/object). Every amount is in the
currency's *minor* unit: ``unit_amount_decimal`` is a decimal string with up to
12 decimal places (Stripe's ``unit_amount_decimal``: ``"105.5"`` is 1.055 USD),
``flat_amount`` and ``amount_minor`` are integers.

The charge is a pure function of (tariff, quantity): all intermediate sums are
exact ``decimal`` arithmetic in a local context that traps ``Inexact`` and
``Rounded`` (so an inexact intermediate is a loud bug, never a silent cent), and
the one rounding to an integer number of minor units happens on the total, with
the rule the tariff names. Floats are never used.

Choices this module makes where DESIGN.md is silent (documented here and in the
docstrings below):

* Quantity 0 costs 0 under every model: no tier is reached, so no
  ``flat_amount`` is charged either.
* Timestamps are RFC 3339 UTC with whole seconds (``2026-11-01T00:00:00Z``), so
  each instant has exactly one spelling and ``tariff_hash`` depends on the
  instant only.
* ``unit_amount_decimal`` has at most 16 integer digits: any larger price makes
  every non-zero charge exceed the I-JSON integer range (RFC 7493 §2.2) that
  ``amount_minor`` must fit to be canonicalised.
* All keys are required (``flat_amount: 0``, ``effective_to: null``), so that
  ``to_json()`` of a parsed tariff equals its input and the hash is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    localcontext,
)
from functools import cached_property
from typing import Any, ClassVar, Final, Literal, NamedTuple, TypeAlias, cast

from kernel.protocol.jcs import canonical_hash

from .errors import NaiveDatetimeError, QuantityError, TariffError

__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_QUANTITY",
    "Charge",
    "PackagePricing",
    "PerUnitPricing",
    "Pricing",
    "Rounding",
    "Tariff",
    "Tier",
    "TieredPricing",
    "compute_charge",
    "currency_exponent",
    "format_amount",
    "price_breakdown",
]

#: Largest accepted quantity (inclusive).
MAX_QUANTITY: Final = 10**15
#: Largest integer JCS can encode exactly (I-JSON, RFC 7493 §2.2): the bound of
#: ``amount_minor``, ``flat_amount``, ``up_to``, ``divide_by`` and ``version``.
MAX_AMOUNT_MINOR: Final = 2**53 - 1

Rounding: TypeAlias = Literal["half_up", "half_even", "up", "down"]
TieredModel: TypeAlias = Literal["tiered_graduated", "tiered_volume"]
PackageRound: TypeAlias = Literal["up", "down"]

_ROUNDINGS: Final[dict[str, str]] = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    # Amounts are non-negative; "up"/"down" are toward +inf/-inf.
    "up": ROUND_CEILING,
    "down": ROUND_FLOOR,
}
_PACKAGE_ROUNDS: Final = ("up", "down")
_MODELS: Final = ("per_unit", "package", "tiered_graduated", "tiered_volume")

_TARIFF_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")
_DECIMAL_RE: Final = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,12})?")
_MAX_INTEGER_DIGITS: Final = 16
_TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z"
)
_HASH_RE: Final = re.compile(r"[0-9a-f]{64}")

# Prices have <= 28 significant digits, quantities <= 16: a product has <= 44
# digits, so 100 digits leave room for any realistic number of tier sums. The
# traps prove it: an inexact or rounded intermediate raises instead of passing.
_EXACT: Final = Context(
    prec=100,
    rounding=ROUND_HALF_EVEN,
    traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow],
)
# The one deliberate rounding (the total to whole minor units) is inexact.
_ROUND: Final = Context(prec=100, traps=[InvalidOperation, Overflow])

# ISO 4217 "List One" (current currency & funds code list, SIX, maintenance
# agency of ISO 4217), column "Minor unit": every code not listed here has 2.
# Funds and metals whose minor unit is "N.A." (XAU, XDR, ...) also default to 2.
_MINOR_UNIT_EXPONENTS: Final[dict[str, int]] = {
    # zero-decimal
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three-decimal
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # four-decimal (units of account)
    "CLF": 4,
    "UYW": 4,
}


# --------------------------------------------------------------------------
# JSON validation helpers
# --------------------------------------------------------------------------


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _kind(value: Any) -> str:
    """Return the JSON type name of ``value`` for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _object(value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Return ``value`` if it is an object with exactly ``keys``, else raise."""
    what = path or "tariff"
    if not isinstance(value, dict):
        raise TariffError(
            f"{what} must be a JSON object, found {_kind(value)}", field=path or None
        )
    for key in value:
        if not isinstance(key, str):
            raise TariffError(
                f"{what} has a non-string key {key!r}", field=path or None
            )
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise TariffError(
            f"{what} has unknown key {unknown[0]!r}; expected exactly "
            f"{', '.join(keys)}",
            field=_join(path, unknown[0]),
        )
    for key in keys:
        if key not in value:
            raise TariffError(
                f"{what} is missing required key {key!r}", field=_join(path, key)
            )
    return value


def _integer(value: Any, path: str, *, minimum: int, maximum: int) -> int:
    """Return ``value`` if it is an integer (not a boolean) in range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TariffError(
            f"{path} must be an integer, found {_kind(value)} {value!r}", field=path
        )
    if not minimum <= value <= maximum:
        raise TariffError(
            f"{path} must be between {minimum} and {maximum}, found {value}",
            field=path,
        )
    return int(value)


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise TariffError(
            f"{path} must be one of {', '.join(choices)}, found {value!r}", field=path
        )
    return value


def _unit_amount_decimal(value: Any, path: str) -> str:
    """Return a validated ``unit_amount_decimal`` string (minor units)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise TariffError(
            f'{path} must be a decimal string such as "0.05", found JSON number '
            f"{value!r}; numbers are refused so prices are never floats",
            field=path,
        )
    if not isinstance(value, str):
        raise TariffError(
            f"{path} must be a decimal string, found {_kind(value)}", field=path
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


def _timestamp(value: Any, path: str) -> datetime:
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


def _format_timestamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def _decimal_str(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string without exponent or zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# --------------------------------------------------------------------------
# Pricing models
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """One tier of a tiered price (Stripe ``tiers[]``).

    Attributes:
        up_to: inclusive upper bound of the tier in units, or ``None`` for the
            last, unbounded tier (Stripe's ``up_to: "inf"``).
        unit_amount_decimal: price per unit in minor units, decimal string with
            up to 12 decimal places.
        flat_amount: fee in minor units added once when the tier is reached
            (graduated) or chosen (volume).
    """

    up_to: int | None
    unit_amount_decimal: str
    flat_amount: int

    @property
    def unit_amount(self) -> Decimal:
        """Return ``unit_amount_decimal`` as an exact ``Decimal``."""
        return Decimal(self.unit_amount_decimal)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"up_to", "unit_amount_decimal", "flat_amount"}``."""
        return {
            "up_to": self.up_to,
            "unit_amount_decimal": self.unit_amount_decimal,
            "flat_amount": self.flat_amount,
        }


@dataclass(frozen=True)
class PerUnitPricing:
    """Per-unit pricing: ``quantity * unit_amount_decimal`` (Stripe ``per_unit``).

    Attributes:
        unit_amount_decimal: price per unit in minor units, decimal string.
    """

    model: ClassVar[Literal["per_unit"]] = "per_unit"
    unit_amount_decimal: str

    @property
    def unit_amount(self) -> Decimal:
        """Return ``unit_amount_decimal`` as an exact ``Decimal``."""
        return Decimal(self.unit_amount_decimal)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"model": "per_unit", "unit_amount_decimal"}``."""
        return {"model": self.model, "unit_amount_decimal": self.unit_amount_decimal}


@dataclass(frozen=True)
class PackagePricing:
    """Package pricing: a price per started (or completed) package of units.

    Stripe's ``transform_quantity`` (``divide_by``, ``round`` ``up``/``down``),
    https://docs.stripe.com/products-prices/pricing-models#package-pricing.

    Attributes:
        unit_amount_decimal: price per package in minor units, decimal string.
        divide_by: units per package, positive integer.
        round: ``"up"`` bills every started package, ``"down"`` only complete
            ones.
    """

    model: ClassVar[Literal["package"]] = "package"
    unit_amount_decimal: str
    divide_by: int
    round: PackageRound

    @property
    def unit_amount(self) -> Decimal:
        """Return ``unit_amount_decimal`` as an exact ``Decimal``."""
        return Decimal(self.unit_amount_decimal)

    def packages(self, quantity: int) -> int:
        """Return the number of packages billed for ``quantity`` units."""
        if self.round == "up":
            return -(-quantity // self.divide_by)
        return quantity // self.divide_by

    def to_json(self) -> dict[str, Any]:
        """Return ``{"model": "package", "unit_amount_decimal", "package"}``."""
        return {
            "model": self.model,
            "unit_amount_decimal": self.unit_amount_decimal,
            "package": {"divide_by": self.divide_by, "round": self.round},
        }


@dataclass(frozen=True)
class TieredPricing:
    """Tiered pricing, graduated or volume (Stripe ``tiers_mode``).

    https://docs.stripe.com/products-prices/pricing-models#tiered-pricing:

    * ``tiered_graduated``: the units falling in each tier are priced at that
      tier's ``unit_amount_decimal``, plus the ``flat_amount`` of every tier
      the quantity reaches.
    * ``tiered_volume``: the tier that holds the whole quantity prices every
      unit, plus that tier's ``flat_amount``.

    Attributes:
        model: ``"tiered_graduated"`` or ``"tiered_volume"``.
        tiers: at least one tier, strictly increasing ``up_to``, the last one
            unbounded (``up_to=None``).
    """

    model: TieredModel
    tiers: tuple[Tier, ...]

    def to_json(self) -> dict[str, Any]:
        """Return ``{"model", "tiers": [...]}``."""
        return {"model": self.model, "tiers": [tier.to_json() for tier in self.tiers]}


Pricing: TypeAlias = PerUnitPricing | PackagePricing | TieredPricing


def _parse_tier(value: Any, path: str, *, last: bool, lower: int) -> Tier:
    obj = _object(value, path, ("up_to", "unit_amount_decimal", "flat_amount"))
    up_to_path = _join(path, "up_to")
    up_to = obj["up_to"]
    if last:
        if up_to is not None:
            raise TariffError(
                f"{up_to_path} must be null: the last tier is unbounded, "
                f"found {up_to!r}",
                field=up_to_path,
            )
    else:
        if up_to is None:
            raise TariffError(
                f"{up_to_path} is null but only the last tier may be unbounded",
                field=up_to_path,
            )
        up_to = _integer(up_to, up_to_path, minimum=1, maximum=MAX_AMOUNT_MINOR)
        if up_to <= lower:
            raise TariffError(
                f"{up_to_path} must be greater than the previous tier's up_to "
                f"{lower}, found {up_to}",
                field=up_to_path,
            )
    return Tier(
        up_to=up_to,
        unit_amount_decimal=_unit_amount_decimal(
            obj["unit_amount_decimal"], _join(path, "unit_amount_decimal")
        ),
        flat_amount=_integer(
            obj["flat_amount"],
            _join(path, "flat_amount"),
            minimum=0,
            maximum=MAX_AMOUNT_MINOR,
        ),
    )


def _parse_pricing(value: Any, path: str) -> Pricing:
    if not isinstance(value, dict):
        raise TariffError(
            f"{path} must be a JSON object, found {_kind(value)}", field=path
        )
    model_path = _join(path, "model")
    if "model" not in value:
        raise TariffError(f"{path} is missing required key 'model'", field=model_path)
    model = _choice(value["model"], model_path, _MODELS)
    price_path = _join(path, "unit_amount_decimal")
    if model == "per_unit":
        obj = _object(value, path, ("model", "unit_amount_decimal"))
        return PerUnitPricing(
            _unit_amount_decimal(obj["unit_amount_decimal"], price_path)
        )
    if model == "package":
        obj = _object(value, path, ("model", "unit_amount_decimal", "package"))
        package_path = _join(path, "package")
        package = _object(obj["package"], package_path, ("divide_by", "round"))
        round_mode = _choice(
            package["round"], _join(package_path, "round"), _PACKAGE_ROUNDS
        )
        return PackagePricing(
            unit_amount_decimal=_unit_amount_decimal(
                obj["unit_amount_decimal"], price_path
            ),
            divide_by=_integer(
                package["divide_by"],
                _join(package_path, "divide_by"),
                minimum=1,
                maximum=MAX_AMOUNT_MINOR,
            ),
            round="up" if round_mode == "up" else "down",
        )
    obj = _object(value, path, ("model", "tiers"))
    tiers_path = _join(path, "tiers")
    raw_tiers = obj["tiers"]
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise TariffError(
            f"{tiers_path} must be a non-empty array of tiers, found "
            f"{_kind(raw_tiers)} {raw_tiers!r}",
            field=tiers_path,
        )
    tiers: list[Tier] = []
    lower = 0
    for index, raw in enumerate(raw_tiers):
        tier = _parse_tier(
            raw,
            f"{tiers_path}[{index}]",
            last=index == len(raw_tiers) - 1,
            lower=lower,
        )
        tiers.append(tier)
        lower = tier.up_to if tier.up_to is not None else lower
    return TieredPricing(
        model="tiered_graduated" if model == "tiered_graduated" else "tiered_volume",
        tiers=tuple(tiers),
    )


# --------------------------------------------------------------------------
# Tariff
# --------------------------------------------------------------------------

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


class _TariffFields(NamedTuple):
    tariff_id: str
    version: int
    currency: str
    metric: str
    pricing: Pricing
    rounding: Rounding
    effective_from: datetime
    effective_to: datetime | None


def _parse_tariff(value: Any) -> _TariffFields:
    obj = _object(value, "", _TARIFF_KEYS)
    tariff_id = obj["tariff_id"]
    if not isinstance(tariff_id, str) or not _TARIFF_ID_RE.fullmatch(tariff_id):
        raise TariffError(
            "tariff_id must be a string of 1 to 128 characters from "
            f"[A-Za-z0-9._:-], found {tariff_id!r}",
            field="tariff_id",
        )
    version = _integer(obj["version"], "version", minimum=1, maximum=MAX_AMOUNT_MINOR)
    currency = obj["currency"]
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise TariffError(
            "currency must be an ISO 4217 code of three uppercase letters, "
            f"found {currency!r}",
            field="currency",
        )
    metric = obj["metric"]
    if not isinstance(metric, str) or not metric:
        raise TariffError(
            f"metric must be a non-empty string, found {metric!r}", field="metric"
        )
    pricing = _parse_pricing(obj["pricing"], "pricing")
    rounding = cast(Rounding, _choice(obj["rounding"], "rounding", tuple(_ROUNDINGS)))
    effective_from = _timestamp(obj["effective_from"], "effective_from")
    effective_to = None
    if obj["effective_to"] is not None:
        effective_to = _timestamp(obj["effective_to"], "effective_to")
        if effective_to <= effective_from:
            raise TariffError(
                f"effective_to {obj['effective_to']} must be after effective_from "
                f"{obj['effective_from']}",
                field="effective_to",
            )
    return _TariffFields(
        tariff_id=tariff_id,
        version=version,
        currency=currency,
        metric=metric,
        pricing=pricing,
        rounding=rounding,
        effective_from=effective_from,
        effective_to=effective_to,
    )


@dataclass(frozen=True)
class Tariff:
    """A published, immutable tariff version (DESIGN.md, "The bundle").

    Build it with :meth:`from_json`; direct construction is re-validated in
    ``__post_init__`` through the same parser, so every ``Tariff`` is valid.

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
                f"Tariff fields have the wrong types ({exc}); build tariffs with "
                "Tariff.from_json()"
            ) from exc
        if _parse_tariff(as_json) != _TariffFields(
            self.tariff_id,
            self.version,
            self.currency,
            self.metric,
            self.pricing,
            self.rounding,
            self.effective_from,
            self.effective_to,
        ):
            raise TariffError(
                "Tariff fields are not in canonical form (e.g. a naive datetime or "
                "a list instead of a tuple); build tariffs with Tariff.from_json()"
            )

    @classmethod
    def from_json(cls, obj: Any) -> Tariff:
        """Return the validated tariff parsed from a decoded JSON object.

        Args:
            obj: the tariff object, e.g. ``json.loads(...)`` of DESIGN.md's
                example. Every key is required, unknown keys are refused.

        Raises:
            TariffError: (``tariff_invalid``) with ``field`` set to the dotted
                path of the first offending value, e.g.
                ``pricing.tiers[1].up_to``.
        """
        return cls(*_parse_tariff(obj))

    def to_json(self) -> dict[str, Any]:
        """Return the tariff as a JSON object (the canonical field set).

        ``Tariff.from_json(t.to_json()) == t``, and for a parsed tariff the
        result equals the input object.
        """
        return {
            "tariff_id": self.tariff_id,
            "version": self.version,
            "currency": self.currency,
            "metric": self.metric,
            "pricing": self.pricing.to_json(),
            "rounding": self.rounding,
            "effective_from": _format_timestamp(self.effective_from),
            "effective_to": (
                None
                if self.effective_to is None
                else _format_timestamp(self.effective_to)
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


# --------------------------------------------------------------------------
# Charge
# --------------------------------------------------------------------------


def _check_quantity(quantity: Any, field: str = "quantity") -> int:
    """Return ``quantity`` if it is an integer in ``[0, MAX_QUANTITY]``."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise QuantityError(
            f"{field} must be a non-negative integer, found {_kind(quantity)} "
            f"{quantity!r}",
            field=field,
        )
    if not 0 <= quantity <= MAX_QUANTITY:
        raise QuantityError(
            f"{field} must be between 0 and {MAX_QUANTITY}, found {quantity}",
            field=field,
        )
    return int(quantity)


@dataclass(frozen=True)
class Charge:
    """The charge object signed into the bundle (DESIGN.md, "charge").

    Attributes:
        quantity: metered units, integer in ``[0, 10**15]``.
        amount_minor: charge in the currency's minor unit, integer in
            ``[0, 2**53 - 1]`` (I-JSON range, so JCS encodes it exactly).
        currency: ISO 4217 code, three uppercase letters.
        tariff_hash: SHA-256(JCS(tariff)), 64 lowercase hex characters.

    Raises:
        QuantityError: (``quantity_invalid``) if ``quantity`` is invalid.
        TariffError: (``tariff_invalid``) if another field is invalid.
    """

    quantity: int
    amount_minor: int
    currency: str
    tariff_hash: str

    def __post_init__(self) -> None:
        """Validate every field (fail closed)."""
        _check_quantity(self.quantity)
        _integer(self.amount_minor, "amount_minor", minimum=0, maximum=MAX_AMOUNT_MINOR)
        if not isinstance(self.currency, str) or not _CURRENCY_RE.fullmatch(
            self.currency
        ):
            raise TariffError(
                "currency must be an ISO 4217 code of three uppercase letters, "
                f"found {self.currency!r}",
                field="currency",
            )
        if not isinstance(self.tariff_hash, str) or not _HASH_RE.fullmatch(
            self.tariff_hash
        ):
            raise TariffError(
                "tariff_hash must be 64 lowercase hex characters, found "
                f"{self.tariff_hash!r}",
                field="tariff_hash",
            )

    @classmethod
    def from_json(cls, obj: Any) -> Charge:
        """Return the validated charge parsed from a decoded JSON object.

        Raises:
            QuantityError: (``quantity_invalid``) on a bad ``quantity``.
            TariffError: (``tariff_invalid``) on a missing or unknown key or
                any other bad field; ``field`` names it.
        """
        value = _object(
            obj, "", ("quantity", "amount_minor", "currency", "tariff_hash")
        )
        return cls(
            quantity=value["quantity"],
            amount_minor=value["amount_minor"],
            currency=value["currency"],
            tariff_hash=value["tariff_hash"],
        )

    def to_json(self) -> dict[str, Any]:
        """Return ``{"quantity", "amount_minor", "currency", "tariff_hash"}``."""
        return {
            "quantity": self.quantity,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "tariff_hash": self.tariff_hash,
        }


def _price(tariff: Tariff, quantity: int) -> tuple[Decimal, list[dict[str, Any]]]:
    """Return the exact, unrounded total (minor units) and the priced lines."""
    pricing = tariff.pricing
    lines: list[dict[str, Any]] = []
    if quantity == 0:
        # Deliberate: no unit is consumed, so no tier is reached and no
        # flat_amount is due, under every model.
        return Decimal(0), lines
    with localcontext(_EXACT):
        total = Decimal(0)
        if isinstance(pricing, PerUnitPricing):
            total = pricing.unit_amount * quantity
            lines.append(
                {
                    "quantity": quantity,
                    "unit_amount_decimal": pricing.unit_amount_decimal,
                    "amount_decimal": _decimal_str(total),
                }
            )
        elif isinstance(pricing, PackagePricing):
            packages = pricing.packages(quantity)
            total = pricing.unit_amount * packages
            lines.append(
                {
                    "quantity": quantity,
                    "divide_by": pricing.divide_by,
                    "round": pricing.round,
                    "packages": packages,
                    "unit_amount_decimal": pricing.unit_amount_decimal,
                    "amount_decimal": _decimal_str(total),
                }
            )
        else:
            lower = 0
            for index, tier in enumerate(pricing.tiers):
                holds = tier.up_to is None or quantity <= tier.up_to
                if pricing.model == "tiered_graduated":
                    upper = quantity if holds or tier.up_to is None else tier.up_to
                    units = upper - lower
                elif holds:
                    units = quantity
                else:
                    lower = tier.up_to if tier.up_to is not None else lower
                    continue
                amount = tier.unit_amount * units + tier.flat_amount
                total += amount
                lines.append(
                    {
                        "tier": index,
                        "first_unit": lower + 1,
                        "up_to": tier.up_to,
                        "quantity": units,
                        "unit_amount_decimal": tier.unit_amount_decimal,
                        "flat_amount": tier.flat_amount,
                        "amount_decimal": _decimal_str(amount),
                    }
                )
                if holds:
                    break
                lower = tier.up_to if tier.up_to is not None else lower
    return total, lines


def _round_total(total: Decimal, rounding: Rounding) -> int:
    rounded = total.quantize(Decimal(1), rounding=_ROUNDINGS[rounding], context=_ROUND)
    return int(rounded)


def _checked_amount(total: Decimal, tariff: Tariff) -> int:
    amount_minor = _round_total(total, tariff.rounding)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise TariffError(
            f"charge of {amount_minor} minor units exceeds the I-JSON maximum "
            f"{MAX_AMOUNT_MINOR}; the tariff cannot price this quantity",
            field="amount_minor",
        )
    return amount_minor


def compute_charge(tariff: Tariff, quantity: int) -> Charge:
    """Return the charge for ``quantity`` units under ``tariff``.

    A pure, deterministic function: exact decimal arithmetic, then one rounding
    of the total to whole minor units with ``tariff.rounding``. Follows Stripe's
    pricing models (https://docs.stripe.com/products-prices/pricing-models):
    per-unit, package (``transform_quantity``), graduated and volume tiers.
    Quantity 0 gives ``amount_minor == 0`` under every model: deliberately, no
    tier is reached, so no ``flat_amount`` is charged.

    Args:
        tariff: a validated tariff.
        quantity: metered units, a non-negative ``int`` (not ``bool``) up to
            ``10**15``.

    Returns:
        ``Charge(quantity, amount_minor, tariff.currency, tariff.tariff_hash)``.

    Raises:
        QuantityError: (``quantity_invalid``) if ``quantity`` is a bool, float,
            string, negative or above ``10**15``.
        TariffError: (``tariff_invalid``) if the charge exceeds ``2**53 - 1``
            minor units.
    """
    quantity = _check_quantity(quantity)
    total, _ = _price(tariff, quantity)
    return Charge(
        quantity=quantity,
        amount_minor=_checked_amount(total, tariff),
        currency=tariff.currency,
        tariff_hash=tariff.tariff_hash,
    )


def price_breakdown(tariff: Tariff, quantity: int) -> dict[str, Any]:
    """Return how ``compute_charge(tariff, quantity)`` is made up.

    For the CLI ``meterproof price`` and the admin. All money values are
    decimal strings in minor units (never floats) except ``amount_minor``.

    Returns:
        ``{"tariff_id", "version", "tariff_hash", "currency", "model",
        "rounding", "quantity", "lines", "total_decimal", "amount_minor",
        "amount_display"}`` where ``total_decimal`` is the exact unrounded
        total (e.g. ``"1.5"``), ``amount_minor`` the rounded charge and
        ``amount_display`` its :func:`format_amount`. ``lines`` holds one
        object per priced piece, each with ``quantity``,
        ``unit_amount_decimal`` and ``amount_decimal``; tiered lines add
        ``tier`` (0-based index), ``first_unit``, ``up_to`` and
        ``flat_amount``; package lines add ``divide_by``, ``round`` and
        ``packages``. Quantity 0 has no lines.

    Raises:
        QuantityError, TariffError: as :func:`compute_charge`.
    """
    quantity = _check_quantity(quantity)
    total, lines = _price(tariff, quantity)
    amount_minor = _checked_amount(total, tariff)
    return {
        "tariff_id": tariff.tariff_id,
        "version": tariff.version,
        "tariff_hash": tariff.tariff_hash,
        "currency": tariff.currency,
        "model": tariff.pricing.model,
        "rounding": tariff.rounding,
        "quantity": quantity,
        "lines": lines,
        "total_decimal": _decimal_str(total),
        "amount_minor": amount_minor,
        "amount_display": format_amount(amount_minor, tariff.currency),
    }


# --------------------------------------------------------------------------
# Display
# --------------------------------------------------------------------------


def currency_exponent(currency: str) -> int:
    """Return the ISO 4217 minor-unit exponent of ``currency`` (0, 2, 3 or 4).

    Spec: ISO 4217 "List One", column "Minor unit". Zero-decimal: BIF, CLP,
    DJF, GNF, ISK, JPY, KMF, KRW, PYG, RWF, UGX, UYI, VND, VUV, XAF, XOF, XPF;
    three-decimal: BHD, IQD, JOD, KWD, LYD, OMR, TND; four-decimal: CLF, UYW;
    every other code: 2. (Stripe's own list differs for a few codes, e.g. it
    bills ISK and UGX with two decimals; this module follows ISO 4217.)

    Raises:
        TariffError: (``tariff_invalid``, field ``currency``) if ``currency``
            is not three uppercase letters.
    """
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise TariffError(
            "currency must be an ISO 4217 code of three uppercase letters, "
            f"found {currency!r}",
            field="currency",
        )
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


def format_amount(amount_minor: int, currency: str) -> str:
    """Return ``amount_minor`` in major units with its code, e.g. "41.50 USD".

    Uses :func:`currency_exponent` (ISO 4217 minor units): ``4150, "USD"`` ->
    ``"41.50 USD"``, ``500, "JPY"`` -> ``"500 JPY"``, ``1234, "KWD"`` ->
    ``"1.234 KWD"``. Negative amounts get a leading ``-``. Integer arithmetic
    only; no locale, no grouping.

    Raises:
        TariffError: (``tariff_invalid``) if ``amount_minor`` is not an
            integer or ``currency`` is malformed.
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TariffError(
            f"amount_minor must be an integer, found {_kind(amount_minor)} "
            f"{amount_minor!r}",
            field="amount_minor",
        )
    exponent = currency_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{major} {currency}"
    return f"{sign}{major}.{minor:0{exponent}d} {currency}"
