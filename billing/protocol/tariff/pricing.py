"""Pricing models and their exact evaluation (Django-free).

Stripe's price model (https://docs.stripe.com/products-prices/pricing-models
and https://docs.stripe.com/api/prices/object): per-unit, package
(``transform_quantity``) and tiered, graduated or volume. Prices are decimal
strings in minor units (``unit_amount_decimal``, up to 12 decimal places);
every intermediate sum is exact ``decimal`` arithmetic in a context that traps
``Inexact`` and ``Rounded``, and the one rounding to whole minor units happens
on the total (:func:`round_total`). Floats are never used.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from typing import Any, ClassVar, Final, Literal, TypeAlias

from ..errors import TariffError
from .fields import (
    MAX_AMOUNT_MINOR,
    decimal_str,
    join_path,
    json_kind,
    require_choice,
    require_integer,
    require_object,
    require_unit_amount_decimal,
)

__all__ = [
    "MODELS",
    "PACKAGE_ROUNDS",
    "ROUNDINGS",
    "PackagePricing",
    "PackageRound",
    "PerUnitPricing",
    "Pricing",
    "Rounding",
    "Tier",
    "TieredModel",
    "TieredPricing",
    "parse_pricing",
    "parse_tier",
    "price_lines",
    "round_total",
]

Rounding: TypeAlias = Literal["half_up", "half_even", "up", "down"]
TieredModel: TypeAlias = Literal["tiered_graduated", "tiered_volume"]
PackageRound: TypeAlias = Literal["up", "down"]

#: Rounding rule name -> ``decimal`` rounding mode.
ROUNDINGS: Final[dict[str, str]] = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    # Amounts are non-negative; "up"/"down" are toward +inf/-inf.
    "up": ROUND_CEILING,
    "down": ROUND_FLOOR,
}
#: ``package.round`` values.
PACKAGE_ROUNDS: Final = ("up", "down")
#: ``pricing.model`` values.
MODELS: Final = ("per_unit", "package", "tiered_graduated", "tiered_volume")

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


def parse_tier(value: Any, path: str, *, last: bool, lower: int) -> Tier:
    """Return the tier at ``path``; the ``last`` tier is unbounded, the
    others have ``up_to`` above the previous tier's (``lower``).

    Raises:
        TariffError: (``tariff_invalid``) a malformed tier.
    """
    obj = require_object(value, path, ("up_to", "unit_amount_decimal", "flat_amount"))
    up_to_path = join_path(path, "up_to")
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
        up_to = require_integer(up_to, up_to_path, minimum=1, maximum=MAX_AMOUNT_MINOR)
        if up_to <= lower:
            raise TariffError(
                f"{up_to_path} must be greater than the previous tier's up_to "
                f"{lower}, found {up_to}",
                field=up_to_path,
            )
    return Tier(
        up_to=up_to,
        unit_amount_decimal=require_unit_amount_decimal(
            obj["unit_amount_decimal"], join_path(path, "unit_amount_decimal")
        ),
        flat_amount=require_integer(
            obj["flat_amount"],
            join_path(path, "flat_amount"),
            minimum=0,
            maximum=MAX_AMOUNT_MINOR,
        ),
    )


def parse_pricing(value: Any, path: str) -> Pricing:
    """Return the pricing object at ``path`` (``per_unit``, ``package``,
    ``tiered_graduated`` or ``tiered_volume``).

    Raises:
        TariffError: (``tariff_invalid``) a malformed pricing object.
    """
    if not isinstance(value, dict):
        raise TariffError(
            f"{path} must be a JSON object, found {json_kind(value)}", field=path
        )
    model_path = join_path(path, "model")
    if "model" not in value:
        raise TariffError(f"{path} is missing required key 'model'", field=model_path)
    model = require_choice(value["model"], model_path, MODELS)
    price_path = join_path(path, "unit_amount_decimal")
    if model == "per_unit":
        obj = require_object(value, path, ("model", "unit_amount_decimal"))
        return PerUnitPricing(
            require_unit_amount_decimal(obj["unit_amount_decimal"], price_path)
        )
    if model == "package":
        obj = require_object(value, path, ("model", "unit_amount_decimal", "package"))
        package_path = join_path(path, "package")
        package = require_object(obj["package"], package_path, ("divide_by", "round"))
        round_mode = require_choice(
            package["round"], join_path(package_path, "round"), PACKAGE_ROUNDS
        )
        return PackagePricing(
            unit_amount_decimal=require_unit_amount_decimal(
                obj["unit_amount_decimal"], price_path
            ),
            divide_by=require_integer(
                package["divide_by"],
                join_path(package_path, "divide_by"),
                minimum=1,
                maximum=MAX_AMOUNT_MINOR,
            ),
            round="up" if round_mode == "up" else "down",
        )
    obj = require_object(value, path, ("model", "tiers"))
    tiers_path = join_path(path, "tiers")
    raw_tiers = obj["tiers"]
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise TariffError(
            f"{tiers_path} must be a non-empty array of tiers, found "
            f"{json_kind(raw_tiers)} {raw_tiers!r}",
            field=tiers_path,
        )
    tiers: list[Tier] = []
    lower = 0
    for index, raw in enumerate(raw_tiers):
        tier = parse_tier(
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


def price_lines(
    pricing: Pricing, quantity: int
) -> tuple[Decimal, list[dict[str, Any]]]:
    """Return the exact, unrounded total (minor units, a ``Decimal``) and the
    priced lines of ``quantity`` units (a validated non-negative ``int``)
    under ``pricing``; see ``charge.price_breakdown`` for the shape of a
    line. Exact arithmetic: an inexact intermediate raises
    ``decimal.Inexact``."""
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
                    "amount_decimal": decimal_str(total),
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
                    "amount_decimal": decimal_str(total),
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
                        "amount_decimal": decimal_str(amount),
                    }
                )
                if holds:
                    break
                lower = tier.up_to if tier.up_to is not None else lower
    return total, lines


def round_total(total: Decimal, rounding: Rounding) -> int:
    """Return ``total`` (minor units) rounded to a whole number of minor units
    with the tariff's ``rounding`` rule."""
    rounded = total.quantize(Decimal(1), rounding=ROUNDINGS[rounding], context=_ROUND)
    return int(rounded)
