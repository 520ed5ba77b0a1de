"""Tariffs and deterministic charge computation (Django-free).

A tariff is the published, immutable price list of one metric
(docs/PROTOCOL.md §4.5). Its pricing follows Stripe's price model (per-unit,
package, and graduated or volume tiers;
https://docs.stripe.com/products-prices/pricing-models and
https://docs.stripe.com/api/prices/object). Every amount is in the currency's
*minor* unit: ``unit_amount_decimal`` is a decimal string with up to 12
decimal places (Stripe's ``unit_amount_decimal``: ``"105.5"`` is 1.055 USD),
``flat_amount`` and ``amount_minor`` are integers. Floats are never used.

Layout (one purpose per module): :mod:`.currency` (ISO 4217 codes, minor
units, display), :mod:`.pricing` (pricing models, exact evaluation and the one
rounding), :mod:`.document` (the tariff JSON document, parsing,
``tariff_hash``), :mod:`.charge` (the charge object and its computation) and
:mod:`.fields` (JSON field validation). The names below are re-exported so
``billing.protocol.tariff`` keeps its public import path.
"""

from __future__ import annotations

from .charge import Charge, compute_charge, price_breakdown
from .currency import currency_exponent, format_amount
from .document import TariffDocument
from .fields import MAX_AMOUNT_MINOR, MAX_QUANTITY
from .pricing import (
    MODELS,
    PackagePricing,
    PerUnitPricing,
    Pricing,
    Rounding,
    Tier,
    TieredPricing,
)

Tariff = TariffDocument  # deprecated alias, removed in a later release

__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_QUANTITY",
    "MODELS",
    "Charge",
    "PackagePricing",
    "PerUnitPricing",
    "Pricing",
    "Rounding",
    "TariffDocument",
    "Tier",
    "TieredPricing",
    "compute_charge",
    "currency_exponent",
    "format_amount",
    "price_breakdown",
]
