"""The charge: computation from (tariff, quantity) and the signed charge
object (Django-free).

The charge is a pure function of (tariff, quantity) (docs/PROTOCOL.md §4.7):
exact decimal arithmetic (:mod:`.pricing`), then one rounding of the total to
an integer number of minor units with the rule the tariff names. Quantity 0
costs 0 under every model: no tier is reached, so no ``flat_amount`` is
charged either. Floats are never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from kernel.protocol import shape

from ..errors import QuantityError, TariffError
from .currency import format_amount, require_currency
from .document import TariffDocument
from .fields import (
    MAX_AMOUNT_MINOR,
    MAX_QUANTITY,
    decimal_str,
    require_integer,
    require_object,
)
from .pricing import price_lines, round_total

__all__ = ["Charge", "check_quantity", "compute_charge", "price_breakdown"]

_HASH_RE: Final = re.compile(r"[0-9a-f]{64}")


def check_quantity(quantity: Any, field: str = "quantity") -> int:
    """Return ``quantity`` if it is an integer in ``[0, MAX_QUANTITY]``.

    Raises:
        QuantityError: (``quantity_invalid``) otherwise.
    """
    return shape.require_integer(
        quantity,
        error=QuantityError,
        field=field,
        maximum=MAX_QUANTITY,
        message="{field} must be a non-negative integer, found {kind} {value!r}",
        range_message="{field} must be between 0 and {maximum}, found {value}",
    )


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
        check_quantity(self.quantity)
        require_integer(
            self.amount_minor, "amount_minor", minimum=0, maximum=MAX_AMOUNT_MINOR
        )
        require_currency(self.currency)
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
        value = require_object(
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


def _checked_amount(total: Decimal, tariff: TariffDocument) -> int:
    """Return the rounded ``total`` (minor units), refused above the I-JSON
    maximum."""
    amount_minor = round_total(total, tariff.rounding)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise TariffError(
            f"charge of {amount_minor} minor units exceeds the I-JSON maximum "
            f"{MAX_AMOUNT_MINOR}; the tariff cannot price this quantity",
            field="amount_minor",
        )
    return amount_minor


def compute_charge(tariff: TariffDocument, quantity: int) -> Charge:
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
    quantity = check_quantity(quantity)
    total, _ = price_lines(tariff.pricing, quantity)
    return Charge(
        quantity=quantity,
        amount_minor=_checked_amount(total, tariff),
        currency=tariff.currency,
        tariff_hash=tariff.tariff_hash,
    )


def price_breakdown(tariff: TariffDocument, quantity: int) -> dict[str, Any]:
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
    quantity = check_quantity(quantity)
    total, lines = price_lines(tariff.pricing, quantity)
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
        "total_decimal": decimal_str(total),
        "amount_minor": amount_minor,
        "amount_display": format_amount(amount_minor, tariff.currency),
    }
