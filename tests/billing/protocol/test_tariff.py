"""Tariffs and charge computation (billing.protocol.tariff).

Expected amounts are written from Stripe's published pricing-model examples
(https://docs.stripe.com/products-prices/pricing-models), not from running the
code. Run without Django: ``pytest tests/billing/protocol/test_tariff.py -p
no:django``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
import rfc8785

from billing.protocol.errors import QuantityError, TariffError
from billing.protocol.tariff import (
    Charge,
    PerUnitPricing,
    TariffDocument,
    Tier,
    TieredPricing,
    compute_charge,
    format_amount,
    price_breakdown,
)

# -- fixtures ---------------------------------------------------------------

STRIPE_TIERS: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount_decimal": "700", "flat_amount": 0},
    {"up_to": 10, "unit_amount_decimal": "650", "flat_amount": 0},
    {"up_to": None, "unit_amount_decimal": "600", "flat_amount": 0},
]


def tariff_json(pricing: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Return a tariff object around ``pricing`` (DESIGN.md's example shape)."""
    obj: dict[str, Any] = {
        "tariff_id": "api-requests",
        "version": 3,
        "currency": "USD",
        "metric": "api_requests",
        "pricing": pricing,
        "rounding": "half_up",
        "effective_from": "2026-11-01T00:00:00Z",
        "effective_to": None,
    }
    obj.update(overrides)
    return obj


def graduated(tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "model": "tiered_graduated",
        "tiers": copy.deepcopy(STRIPE_TIERS if tiers is None else tiers),
    }


def volume(tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "model": "tiered_volume",
        "tiers": copy.deepcopy(STRIPE_TIERS if tiers is None else tiers),
    }


def per_unit(price: str) -> dict[str, Any]:
    return {"model": "per_unit", "unit_amount_decimal": price}


def package(price: str, divide_by: int, round_: str) -> dict[str, Any]:
    return {
        "model": "package",
        "unit_amount_decimal": price,
        "package": {"divide_by": divide_by, "round": round_},
    }


def amount(pricing: dict[str, Any], quantity: int, rounding: str = "half_up") -> int:
    tariff = TariffDocument.from_json(tariff_json(pricing, rounding=rounding))
    return compute_charge(tariff, quantity).amount_minor


ALL_MODELS = [
    graduated(),
    volume(),
    per_unit("0.05"),
    package("1000", 60, "up"),
    package("1000", 60, "down"),
]


# -- Stripe's published examples --------------------------------------------


def test_stripe_volume_example_six_units_cost_39_usd() -> None:
    """Volume tiers 1-5 at $7, 6-10 at $6.50, 11+ at $6: 6 units cost $39.00."""
    assert amount(volume(), 6) == 3900


def test_stripe_graduated_example_on_the_same_table() -> None:
    """Graduated on the same table: 6 units cost $41.50, 20 units $127.50."""
    assert amount(graduated(), 6) == 4150
    assert amount(graduated(), 20) == 12750


def test_stripe_package_example_per_started_hour() -> None:
    """$10 per hour billed per started hour: 150 minutes cost $30.00."""
    assert amount(package("1000", 60, "up"), 150) == 3000


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("half_up", 2), ("half_even", 2), ("down", 1), ("up", 2)],
)
def test_per_unit_fraction_of_a_cent_rounds_once(rounding: str, expected: int) -> None:
    """$0.0005 x 30 = 1.5 cents, rounded once on the total by the named rule."""
    tariff = TariffDocument.from_json(tariff_json(per_unit("0.05"), rounding=rounding))
    assert price_breakdown(tariff, 30)["total_decimal"] == "1.5"
    assert compute_charge(tariff, 30).amount_minor == expected


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("half_up", 3), ("half_even", 2), ("down", 2), ("up", 3)],
)
def test_half_even_differs_from_half_up_on_2_5(rounding: str, expected: int) -> None:
    """2.5 cents: half_up gives 3, half_even (banker's) gives 2."""
    assert amount(per_unit("0.5"), 5, rounding) == expected


def test_rounding_is_on_the_total_not_per_tier() -> None:
    """Two tiers of 0.5 cent each sum to 1 cent exactly; per-line rounding
    with half_even would give 0 + 0 or 1 + 1, never the right 1."""
    tiers: list[dict[str, Any]] = [
        {"up_to": 1, "unit_amount_decimal": "0.5", "flat_amount": 0},
        {"up_to": None, "unit_amount_decimal": "0.5", "flat_amount": 0},
    ]
    assert amount(graduated(tiers), 2, "half_even") == 1
    assert amount(graduated(tiers), 2, "up") == 1


# -- models in detail --------------------------------------------------------

FLAT_TIERS: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount_decimal": "700", "flat_amount": 1000},
    {"up_to": None, "unit_amount_decimal": "600", "flat_amount": 500},
]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, 1700), (3, 3100), (5, 4500), (6, 5600), (10, 8000)],
)
def test_graduated_adds_flat_amount_of_every_tier_reached(
    quantity: int, expected: int
) -> None:
    """Graduated: units per tier at the tier's price, plus each reached flat fee."""
    assert amount(graduated(FLAT_TIERS), quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, 1700), (3, 3100), (5, 4500), (6, 4100), (10, 6500)],
)
def test_volume_adds_flat_amount_of_the_chosen_tier_only(
    quantity: int, expected: int
) -> None:
    """Volume: every unit at the holding tier's price plus its flat fee only."""
    assert amount(volume(FLAT_TIERS), quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "volume_expected", "graduated_expected"),
    [
        (1, 700, 700),
        (5, 3500, 3500),
        (6, 3900, 4150),
        (10, 6500, 6750),
        (11, 6600, 7350),
    ],
)
def test_up_to_is_inclusive_at_tier_boundaries(
    quantity: int, volume_expected: int, graduated_expected: int
) -> None:
    """A quantity equal to ``up_to`` belongs to that tier (Stripe's ``up_to``)."""
    assert amount(volume(), quantity) == volume_expected
    assert amount(graduated(), quantity) == graduated_expected


@pytest.mark.parametrize(
    ("quantity", "round_", "expected"),
    [
        (150, "down", 2000),
        (59, "down", 0),
        (60, "down", 1000),
        (119, "down", 1000),
        (1, "up", 1000),
        (60, "up", 1000),
        (61, "up", 2000),
    ],
)
def test_package_rounds_the_package_count(
    quantity: int, round_: str, expected: int
) -> None:
    """``round: down`` bills complete packages only, ``up`` every started one."""
    assert amount(package("1000", 60, round_), quantity) == expected


def test_single_unbounded_tier_is_per_unit() -> None:
    """One tier with ``up_to: null`` prices like per_unit in both modes."""
    tiers: list[dict[str, Any]] = [
        {"up_to": None, "unit_amount_decimal": "12.5", "flat_amount": 0}
    ]
    assert amount(graduated(tiers), 4) == 50
    assert amount(volume(tiers), 4) == 50


@pytest.mark.parametrize("pricing", ALL_MODELS + [graduated(FLAT_TIERS)])
def test_quantity_zero_costs_nothing_under_every_model(
    pricing: dict[str, Any],
) -> None:
    """Quantity 0 reaches no tier: amount 0, no flat fee, no breakdown lines."""
    tariff = TariffDocument.from_json(tariff_json(pricing))
    assert compute_charge(tariff, 0).amount_minor == 0
    breakdown = price_breakdown(tariff, 0)
    assert breakdown["lines"] == []
    assert breakdown["total_decimal"] == "0"
    assert amount(volume(FLAT_TIERS), 0) == 0


# -- exactness ---------------------------------------------------------------


def test_twelve_decimal_price_times_max_quantity_is_exact() -> None:
    """1.000000000001 x 10**15 = 1000000000001000 exactly (floats lose it)."""
    assert amount(per_unit("1.000000000001"), 10**15) == 1_000_000_000_001_000
    assert amount(per_unit("0.000000000001"), 10**15) == 1000


def test_twelve_decimal_thirds_keep_every_digit() -> None:
    """0.333333333333 x 999999999999999 is 333333333332999.666666666667."""
    tariff = TariffDocument.from_json(tariff_json(per_unit("0.333333333333")))
    breakdown = price_breakdown(tariff, 999_999_999_999_999)
    assert breakdown["total_decimal"] == "333333333332999.666666666667"
    assert breakdown["amount_minor"] == 333_333_333_333_000


def test_twelve_decimal_graduated_prices_are_exact() -> None:
    """Sub-cent tier prices over big quantities add up without drift."""
    tiers: list[dict[str, Any]] = [
        {"up_to": 10**12, "unit_amount_decimal": "0.000000000007", "flat_amount": 1},
        {"up_to": None, "unit_amount_decimal": "0.000000000003", "flat_amount": 2},
    ]
    tariff = TariffDocument.from_json(tariff_json(graduated(tiers)))
    breakdown = price_breakdown(tariff, 10**15)
    # 10**12 * 7e-12 + 1 = 8;  (10**15 - 10**12) * 3e-12 + 2 = 2997 + 2 = 2999
    assert breakdown["total_decimal"] == "3007"
    assert [line["amount_decimal"] for line in breakdown["lines"]] == ["8", "2999"]


def test_charge_above_i_json_range_is_refused() -> None:
    """A charge above 2**53 - 1 minor units cannot be canonicalised: refused."""
    tariff = TariffDocument.from_json(tariff_json(per_unit("10000000")))
    with pytest.raises(TariffError) as info:
        compute_charge(tariff, 10**15)
    assert type(info.value) is TariffError
    assert info.value.code == "tariff_invalid"
    assert info.value.field == "amount_minor"


# -- quantity validation -----------------------------------------------------


@pytest.mark.parametrize(
    "quantity", [True, False, 1.0, 6.5, "6", None, -1, 10**15 + 1, Decimal(6)]
)
def test_bad_quantity_is_refused(quantity: Any) -> None:
    """Quantities are ints in [0, 10**15]; bool, float, str, negative refused."""
    tariff = TariffDocument.from_json(tariff_json(graduated()))
    for function in (compute_charge, price_breakdown):
        with pytest.raises(QuantityError) as info:
            function(tariff, quantity)
        assert info.value.code == "quantity_invalid"
        assert info.value.field == "quantity"


def test_max_quantity_is_accepted() -> None:
    """10**15 itself is a valid quantity."""
    assert amount(per_unit("0"), 10**15) == 0


# -- tariff validation -------------------------------------------------------


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> Any:
    obj = copy.deepcopy(tariff_json(graduated()) if base is None else base)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


def _without(path: list[Any], base: dict[str, Any] | None = None) -> Any:
    obj = copy.deepcopy(tariff_json(graduated()) if base is None else base)
    target = obj
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return obj


PACKAGE = tariff_json(package("1000", 60, "up"))
PER_UNIT = tariff_json(per_unit("0.05"))

INVALID_TARIFFS: list[tuple[str, Any, str | None]] = [
    ("not an object", [], None),
    ("null", None, None),
    ("unknown top-level key", _with(["extra"], 1), "extra"),
    ("missing metric", _without(["metric"]), "metric"),
    ("missing effective_to", _without(["effective_to"]), "effective_to"),
    ("empty tariff_id", _with(["tariff_id"], ""), "tariff_id"),
    ("tariff_id with space", _with(["tariff_id"], "api requests"), "tariff_id"),
    ("tariff_id with slash", _with(["tariff_id"], "api/requests"), "tariff_id"),
    ("tariff_id non-ascii", _with(["tariff_id"], "préavis"), "tariff_id"),
    ("tariff_id 129 chars", _with(["tariff_id"], "a" * 129), "tariff_id"),
    ("tariff_id trailing newline", _with(["tariff_id"], "api\n"), "tariff_id"),
    ("tariff_id number", _with(["tariff_id"], 3), "tariff_id"),
    ("version 0", _with(["version"], 0), "version"),
    ("version negative", _with(["version"], -1), "version"),
    ("version bool", _with(["version"], True), "version"),
    ("version string", _with(["version"], "3"), "version"),
    ("version float", _with(["version"], 3.0), "version"),
    ("currency lowercase", _with(["currency"], "usd"), "currency"),
    ("currency two letters", _with(["currency"], "US"), "currency"),
    ("currency four letters", _with(["currency"], "USDT"), "currency"),
    ("currency numeric", _with(["currency"], 840), "currency"),
    ("currency digits", _with(["currency"], "840"), "currency"),
    ("metric empty", _with(["metric"], ""), "metric"),
    ("metric null", _with(["metric"], None), "metric"),
    ("metric number", _with(["metric"], 1), "metric"),
    ("pricing not object", _with(["pricing"], "per_unit"), "pricing"),
    ("pricing missing model", _without(["pricing", "model"]), "pricing.model"),
    ("pricing unknown model", _with(["pricing", "model"], "flat"), "pricing.model"),
    ("pricing model null", _with(["pricing", "model"], None), "pricing.model"),
    ("per_unit with tiers", _with(["pricing", "tiers"], [], PER_UNIT), "pricing.tiers"),
    (
        "per_unit missing price",
        _without(["pricing", "unit_amount_decimal"], PER_UNIT),
        "pricing.unit_amount_decimal",
    ),
    (
        "price as JSON float",
        _with(["pricing", "unit_amount_decimal"], 0.05, PER_UNIT),
        "pricing.unit_amount_decimal",
    ),
    (
        "price as JSON integer",
        _with(["pricing", "unit_amount_decimal"], 700, PER_UNIT),
        "pricing.unit_amount_decimal",
    ),
    *[
        (
            f"price {bad!r}",
            _with(["pricing", "unit_amount_decimal"], bad, PER_UNIT),
            "pricing.unit_amount_decimal",
        )
        for bad in [
            "",
            "1e3",
            "1E3",
            "-1",
            "+1",
            "01",
            "00.5",
            ".5",
            "5.",
            "0.1234567890123",
            "1" * 17,
            " 1",
            "1 ",
            "1\n",
            "1,5",
            "NaN",
            "Infinity",
            "١",
            None,
            True,
        ]
    ],
    ("package missing", _without(["pricing", "package"], PACKAGE), "pricing.package"),
    (
        "package not object",
        _with(["pricing", "package"], 60, PACKAGE),
        "pricing.package",
    ),
    (
        "package unknown key",
        _with(["pricing", "package", "size"], 1, PACKAGE),
        "pricing.package.size",
    ),
    *[
        (
            f"divide_by {bad!r}",
            _with(["pricing", "package", "divide_by"], bad, PACKAGE),
            "pricing.package.divide_by",
        )
        for bad in [0, -60, True, 60.0, "60", None]
    ],
    *[
        (
            f"package round {bad!r}",
            _with(["pricing", "package", "round"], bad, PACKAGE),
            "pricing.package.round",
        )
        for bad in ["nearest", "UP", "half_up", None]
    ],
    (
        "package price float",
        _with(["pricing", "unit_amount_decimal"], 10.0, PACKAGE),
        "pricing.unit_amount_decimal",
    ),
    ("tiers empty", _with(["pricing", "tiers"], []), "pricing.tiers"),
    ("tiers not array", _with(["pricing", "tiers"], {}), "pricing.tiers"),
    ("tier not object", _with(["pricing", "tiers", 0], 5), "pricing.tiers[0]"),
    (
        "last tier bounded",
        _with(["pricing", "tiers", 2, "up_to"], 20),
        "pricing.tiers[2].up_to",
    ),
    (
        "middle tier unbounded",
        _with(["pricing", "tiers", 1, "up_to"], None),
        "pricing.tiers[1].up_to",
    ),
    (
        "up_to not increasing",
        _with(["pricing", "tiers", 1, "up_to"], 5),
        "pricing.tiers[1].up_to",
    ),
    (
        "up_to decreasing",
        _with(["pricing", "tiers", 1, "up_to"], 4),
        "pricing.tiers[1].up_to",
    ),
    (
        "up_to zero",
        _with(["pricing", "tiers", 0, "up_to"], 0),
        "pricing.tiers[0].up_to",
    ),
    (
        "up_to negative",
        _with(["pricing", "tiers", 0, "up_to"], -5),
        "pricing.tiers[0].up_to",
    ),
    (
        "up_to bool",
        _with(["pricing", "tiers", 0, "up_to"], True),
        "pricing.tiers[0].up_to",
    ),
    (
        "up_to string",
        _with(["pricing", "tiers", 0, "up_to"], "5"),
        "pricing.tiers[0].up_to",
    ),
    (
        "up_to float",
        _with(["pricing", "tiers", 0, "up_to"], 5.0),
        "pricing.tiers[0].up_to",
    ),
    (
        "up_to 'inf' (Stripe spelling)",
        _with(["pricing", "tiers", 2, "up_to"], "inf"),
        "pricing.tiers[2].up_to",
    ),
    (
        "up_to missing",
        _without(["pricing", "tiers", 0, "up_to"]),
        "pricing.tiers[0].up_to",
    ),
    (
        "tier unknown key",
        _with(["pricing", "tiers", 0, "unit_amount"], 700),
        "pricing.tiers[0].unit_amount",
    ),
    (
        "tier price float",
        _with(["pricing", "tiers", 1, "unit_amount_decimal"], 6.5),
        "pricing.tiers[1].unit_amount_decimal",
    ),
    (
        "tier price exponent",
        _with(["pricing", "tiers", 1, "unit_amount_decimal"], "6.5e2"),
        "pricing.tiers[1].unit_amount_decimal",
    ),
    (
        "flat_amount negative",
        _with(["pricing", "tiers", 0, "flat_amount"], -1),
        "pricing.tiers[0].flat_amount",
    ),
    (
        "flat_amount string",
        _with(["pricing", "tiers", 0, "flat_amount"], "0"),
        "pricing.tiers[0].flat_amount",
    ),
    (
        "flat_amount float",
        _with(["pricing", "tiers", 0, "flat_amount"], 0.0),
        "pricing.tiers[0].flat_amount",
    ),
    (
        "flat_amount bool",
        _with(["pricing", "tiers", 0, "flat_amount"], False),
        "pricing.tiers[0].flat_amount",
    ),
    (
        "flat_amount above I-JSON",
        _with(["pricing", "tiers", 0, "flat_amount"], 2**53),
        "pricing.tiers[0].flat_amount",
    ),
    (
        "flat_amount missing",
        _without(["pricing", "tiers", 2, "flat_amount"]),
        "pricing.tiers[2].flat_amount",
    ),
    ("rounding unknown", _with(["rounding"], "nearest"), "rounding"),
    ("rounding upper case", _with(["rounding"], "HALF_UP"), "rounding"),
    ("rounding Python name", _with(["rounding"], "ROUND_HALF_UP"), "rounding"),
    ("rounding null", _with(["rounding"], None), "rounding"),
    *[
        (f"effective_from {bad!r}", _with(["effective_from"], bad), "effective_from")
        for bad in [
            "2026-11-01T00:00:00+00:00",
            "2026-11-01T00:00:00",
            "2026-11-01 00:00:00Z",
            "2026-11-01t00:00:00Z",
            "2026-11-01T00:00:00z",
            "2026-11-01T00:00:00.5Z",
            "2026-11-01",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T00:00:00Z\n",
            1793491200,
            None,
        ]
    ],
    (
        "effective_to equals from",
        _with(["effective_to"], "2026-11-01T00:00:00Z"),
        "effective_to",
    ),
    (
        "effective_to before from",
        _with(["effective_to"], "2026-10-31T23:59:59Z"),
        "effective_to",
    ),
    ("effective_to malformed", _with(["effective_to"], "soon"), "effective_to"),
    (
        "effective_to with offset",
        _with(["effective_to"], "2027-01-01T00:00:00+01:00"),
        "effective_to",
    ),
]


@pytest.mark.parametrize(
    ("obj", "field"),
    [pytest.param(obj, field, id=name) for name, obj, field in INVALID_TARIFFS],
)
def test_invalid_tariff_is_refused_with_field_path(obj: Any, field: str | None) -> None:
    """Every validation rule raises TariffError naming the offending field."""
    with pytest.raises(TariffError) as info:
        TariffDocument.from_json(obj)
    assert type(info.value) is TariffError
    assert info.value.code == "tariff_invalid"
    assert info.value.field == field
    assert info.value.message


def test_float_price_message_says_decimal_string() -> None:
    """A price given as a JSON number gets a message asking for a string."""
    with pytest.raises(TariffError) as info:
        TariffDocument.from_json(tariff_json(per_unit(0.05)))  # type: ignore[arg-type]
    assert "decimal string" in info.value.message
    assert "0.05" in info.value.message


@pytest.mark.parametrize(
    "price", ["0", "0.0", "700", "105.5", "0.000000000001", "9" * 16 + ".5"]
)
def test_valid_prices_are_accepted(price: str) -> None:
    """Plain decimals up to 16 integer digits and 12 places parse."""
    tariff = TariffDocument.from_json(tariff_json(per_unit(price)))
    assert tariff.to_json()["pricing"]["unit_amount_decimal"] == price


def test_direct_construction_is_validated() -> None:
    """Building a TariffDocument by hand goes through the same rules as from_json."""
    good = TariffDocument.from_json(tariff_json(per_unit("0.05")))
    fields: dict[str, Any] = {
        "tariff_id": good.tariff_id,
        "version": good.version,
        "currency": good.currency,
        "metric": good.metric,
        "pricing": good.pricing,
        "rounding": good.rounding,
        "effective_from": good.effective_from,
        "effective_to": good.effective_to,
    }
    assert TariffDocument(**fields) == good
    for name, bad in [
        ("version", 0),
        ("currency", "usd"),
        ("pricing", PerUnitPricing("5e2")),
        ("rounding", "nearest"),
        ("effective_from", datetime(2026, 11, 1)),  # naive
        ("effective_from", "2026-11-01T00:00:00Z"),  # str, not datetime
        ("pricing", TieredPricing("tiered_volume", [Tier(None, "1", 0)])),  # type: ignore[arg-type]
    ]:
        with pytest.raises(TariffError) as info:
            TariffDocument(**{**fields, name: bad})
        assert info.value.code == "tariff_invalid"


# -- JSON round trip and hash --------------------------------------------------

ROUND_TRIP = [
    tariff_json(graduated()),
    tariff_json(volume(FLAT_TIERS), rounding="half_even"),
    tariff_json(per_unit("0.050"), rounding="up", currency="JPY"),
    tariff_json(
        package("1000", 60, "down"),
        rounding="down",
        effective_to="2027-01-01T00:00:00Z",
        tariff_id="A.b_c:d-9",
        version=2**53 - 1,
    ),
]


@pytest.mark.parametrize("obj", ROUND_TRIP)
def test_json_round_trip(obj: dict[str, Any]) -> None:
    """to_json() of a parsed tariff equals the input; from_json inverts it."""
    tariff = TariffDocument.from_json(obj)
    assert tariff.to_json() == obj
    assert TariffDocument.from_json(tariff.to_json()) == tariff
    assert TariffDocument.from_json(json.loads(json.dumps(tariff.to_json()))) == tariff


@pytest.mark.parametrize("obj", ROUND_TRIP)
def test_tariff_hash_is_sha256_of_rfc8785_bytes(obj: dict[str, Any]) -> None:
    """tariff_hash = SHA-256(JCS(tariff)), computed here independently."""
    expected = hashlib.sha256(rfc8785.dumps(obj)).hexdigest()
    tariff = TariffDocument.from_json(obj)
    assert tariff.tariff_hash == expected
    assert compute_charge(tariff, 1).tariff_hash == expected


def test_tariff_hash_changes_when_any_field_changes() -> None:
    """Each field, nested ones included, is covered by the hash."""
    base = tariff_json(graduated())
    variants = [
        base,
        _with(["tariff_id"], "api-requests-2"),
        _with(["version"], 4),
        _with(["currency"], "EUR"),
        _with(["metric"], "api_bytes"),
        _with(["rounding"], "half_even"),
        _with(["effective_from"], "2026-11-01T00:00:01Z"),
        _with(["effective_to"], "2027-01-01T00:00:00Z"),
        _with(["pricing", "model"], "tiered_volume"),
        _with(["pricing", "tiers", 0, "up_to"], 4),
        _with(["pricing", "tiers", 1, "unit_amount_decimal"], "650.0"),
        _with(["pricing", "tiers", 2, "flat_amount"], 1),
        tariff_json(per_unit("0.05")),
        tariff_json(per_unit("0.050")),
        tariff_json(package("1000", 60, "up")),
        tariff_json(package("1000", 60, "down")),
        tariff_json(package("1000", 61, "up")),
    ]
    hashes = {TariffDocument.from_json(obj).tariff_hash for obj in variants}
    assert len(hashes) == len(variants)


def test_is_effective_at_from_inclusive_to_exclusive() -> None:
    """effective_from <= at < effective_to; instants compare across offsets."""
    tariff = TariffDocument.from_json(
        tariff_json(graduated(), effective_to="2027-01-01T00:00:00Z")
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = datetime(2027, 1, 1, tzinfo=UTC)
    assert not tariff.is_effective_at(start - timedelta(microseconds=1))
    assert tariff.is_effective_at(start)
    assert tariff.is_effective_at(end - timedelta(microseconds=1))
    assert not tariff.is_effective_at(end)
    paris = timezone(timedelta(hours=1))
    assert tariff.is_effective_at(datetime(2026, 11, 1, 1, 0, tzinfo=paris))
    assert not tariff.is_effective_at(datetime(2026, 11, 1, 0, 59, tzinfo=paris))
    open_ended = TariffDocument.from_json(tariff_json(graduated()))
    assert open_ended.is_effective_at(datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):
        tariff.is_effective_at(datetime(2026, 12, 1))


# -- Charge ------------------------------------------------------------------


def test_charge_json_has_exactly_the_signed_fields() -> None:
    """The charge object is {quantity, amount_minor, currency, tariff_hash}."""
    tariff = TariffDocument.from_json(tariff_json(graduated()))
    charge = compute_charge(tariff, 6)
    assert charge.to_json() == {
        "quantity": 6,
        "amount_minor": 4150,
        "currency": "USD",
        "tariff_hash": tariff.tariff_hash,
    }
    assert Charge.from_json(charge.to_json()) == charge
    assert compute_charge(tariff, 6) == charge  # deterministic


GOOD_CHARGE = {
    "quantity": 6,
    "amount_minor": 4150,
    "currency": "USD",
    "tariff_hash": "ab" * 32,
}


@pytest.mark.parametrize(
    ("obj", "error", "field"),
    [
        ([], TariffError, None),
        ({**GOOD_CHARGE, "sig": "x"}, TariffError, "sig"),
        (
            {k: v for k, v in GOOD_CHARGE.items() if k != "currency"},
            TariffError,
            "currency",
        ),
        ({**GOOD_CHARGE, "quantity": True}, QuantityError, "quantity"),
        ({**GOOD_CHARGE, "quantity": -1}, QuantityError, "quantity"),
        ({**GOOD_CHARGE, "quantity": 6.0}, QuantityError, "quantity"),
        ({**GOOD_CHARGE, "amount_minor": -1}, TariffError, "amount_minor"),
        ({**GOOD_CHARGE, "amount_minor": "4150"}, TariffError, "amount_minor"),
        ({**GOOD_CHARGE, "amount_minor": 41.5}, TariffError, "amount_minor"),
        ({**GOOD_CHARGE, "amount_minor": 2**53}, TariffError, "amount_minor"),
        ({**GOOD_CHARGE, "currency": "usd"}, TariffError, "currency"),
        ({**GOOD_CHARGE, "tariff_hash": "AB" * 32}, TariffError, "tariff_hash"),
        ({**GOOD_CHARGE, "tariff_hash": "ab" * 31}, TariffError, "tariff_hash"),
    ],
)
def test_invalid_charge_is_refused(
    obj: Any, error: type[TariffError], field: str | None
) -> None:
    """Charge.from_json validates every field and refuses unknown keys."""
    with pytest.raises(error) as info:
        Charge.from_json(obj)
    assert type(info.value) is error
    assert info.value.code == error.code
    assert info.value.field == field


# -- breakdown and display ---------------------------------------------------


def test_breakdown_lines_for_graduated() -> None:
    """Per-tier lines carry units, price, flat fee and unrounded amount."""
    tariff = TariffDocument.from_json(tariff_json(graduated(FLAT_TIERS)))
    breakdown = price_breakdown(tariff, 6)
    assert breakdown["lines"] == [
        {
            "tier": 0,
            "first_unit": 1,
            "up_to": 5,
            "quantity": 5,
            "unit_amount_decimal": "700",
            "flat_amount": 1000,
            "amount_decimal": "4500",
        },
        {
            "tier": 1,
            "first_unit": 6,
            "up_to": None,
            "quantity": 1,
            "unit_amount_decimal": "600",
            "flat_amount": 500,
            "amount_decimal": "1100",
        },
    ]
    assert breakdown["total_decimal"] == "5600"
    assert breakdown["amount_minor"] == 5600
    assert breakdown["amount_display"] == "56.00 USD"
    assert breakdown["model"] == "tiered_graduated"
    assert breakdown["tariff_hash"] == tariff.tariff_hash
    rfc8785.dumps(breakdown)  # JSON-safe: no floats, no Decimals


def test_breakdown_for_volume_and_package() -> None:
    """Volume has the one holding tier; package reports the package count."""
    tariff = TariffDocument.from_json(tariff_json(volume()))
    (line,) = price_breakdown(tariff, 6)["lines"]
    assert (line["tier"], line["quantity"], line["amount_decimal"]) == (1, 6, "3900")
    tariff = TariffDocument.from_json(tariff_json(package("1000", 60, "up")))
    (line,) = price_breakdown(tariff, 150)["lines"]
    assert (line["packages"], line["amount_decimal"]) == (3, "3000")


@pytest.mark.parametrize(
    ("amount_minor", "currency", "expected"),
    [
        (4150, "USD", "41.50 USD"),
        (3900, "USD", "39.00 USD"),
        (5, "EUR", "0.05 EUR"),
        (0, "USD", "0.00 USD"),
        (500, "JPY", "500 JPY"),
        (1000, "KRW", "1000 KRW"),
        (1234, "KWD", "1.234 KWD"),
        (5, "BHD", "0.005 BHD"),
        (12345, "CLF", "1.2345 CLF"),
        (-4150, "USD", "-41.50 USD"),
        (2**53 - 1, "USD", "90071992547409.91 USD"),
    ],
)
def test_format_amount_uses_iso_4217_minor_units(
    amount_minor: int, currency: str, expected: str
) -> None:
    """Minor units shown in major units with the ISO 4217 exponent."""
    assert format_amount(amount_minor, currency) == expected


@pytest.mark.parametrize(
    ("amount_minor", "currency", "field"),
    [
        (1, "usd", "currency"),
        (1, "US", "currency"),
        (True, "USD", "amount_minor"),
        (1.5, "USD", "amount_minor"),
    ],
)
def test_format_amount_refuses_bad_input(
    amount_minor: Any, currency: Any, field: str
) -> None:
    """format_amount refuses floats, bools and malformed currency codes."""
    with pytest.raises(TariffError) as info:
        format_amount(amount_minor, currency)
    assert info.value.code == "tariff_invalid"
    assert info.value.field == field


# -- properties (seeded, no hypothesis) --------------------------------------


def _random_price(rng: random.Random) -> str:
    integer = str(rng.choice([0, rng.randrange(1, 1000), rng.randrange(1, 10**9)]))
    places = rng.randrange(0, 13)
    if places == 0:
        return integer
    return f"{integer}.{rng.randrange(0, 10**places):0{places}d}"


def _random_tiers(rng: random.Random) -> list[dict[str, Any]]:
    tiers: list[dict[str, Any]] = []
    up_to = 0
    for _ in range(rng.randrange(0, 6)):
        up_to += rng.randrange(1, 40)
        tiers.append(
            {
                "up_to": up_to,
                "unit_amount_decimal": _random_price(rng),
                "flat_amount": rng.choice([0, 0, rng.randrange(0, 10**6)]),
            }
        )
    tiers.append(
        {
            "up_to": None,
            "unit_amount_decimal": _random_price(rng),
            "flat_amount": rng.choice([0, rng.randrange(0, 10**6)]),
        }
    )
    return tiers


def _naive_graduated(tiers: list[dict[str, Any]], quantity: int) -> Fraction:
    """Walk unit by unit with Fractions: the textbook definition."""
    total = Fraction(0)
    reached: set[int] = set()
    for unit in range(1, quantity + 1):
        index = next(
            i for i, t in enumerate(tiers) if t["up_to"] is None or unit <= t["up_to"]
        )
        total += Fraction(tiers[index]["unit_amount_decimal"])
        reached.add(index)
    flats: int = sum(tiers[i]["flat_amount"] for i in reached)
    return total + flats


def _round_half_up(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    return floor + (1 if value - floor >= Fraction(1, 2) else 0)


def test_graduated_equals_sum_of_per_unit_pieces() -> None:
    """Graduated = sum over tiers of (units in tier x price) + reached flats."""
    rng = random.Random(20261101)
    for _ in range(300):
        tiers = _random_tiers(rng)
        tariff = TariffDocument.from_json(tariff_json(graduated(tiers)))
        bounds = [t["up_to"] for t in tiers if t["up_to"] is not None]
        top = (bounds[-1] if bounds else 0) + 40
        quantities = {0, 1, top, rng.randrange(0, top + 1)}
        quantities |= {b + d for b in bounds for d in (-1, 0, 1)}
        for quantity in sorted(quantities):
            # Reference 1: one per_unit tariff per tier, on the tier's units.
            expected = Decimal(0)
            lower = 0
            for tier in tiers:
                if quantity <= lower:
                    break
                upper = (
                    quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
                )
                piece = TariffDocument.from_json(
                    tariff_json(per_unit(tier["unit_amount_decimal"]))
                )
                expected += Decimal(
                    price_breakdown(piece, upper - lower)["total_decimal"]
                )
                expected += tier["flat_amount"]
                lower = upper
            breakdown = price_breakdown(tariff, quantity)
            assert Decimal(breakdown["total_decimal"]) == expected
            # Reference 2: unit-by-unit walk in Fractions, rounded half up.
            naive = _naive_graduated(tiers, quantity)
            assert Fraction(breakdown["total_decimal"]) == naive
            assert compute_charge(tariff, quantity).amount_minor == _round_half_up(
                naive
            )


def test_volume_is_monotonic_within_a_tier() -> None:
    """Within one volume tier the charge never decreases as quantity grows."""
    rng = random.Random(7)
    for _ in range(200):
        tiers = _random_tiers(rng)
        rounding = rng.choice(["half_up", "half_even", "up", "down"])
        tariff = TariffDocument.from_json(tariff_json(volume(tiers), rounding=rounding))
        lower = 0
        for tier in tiers:
            upper = lower + 40 if tier["up_to"] is None else tier["up_to"]
            amounts = [
                compute_charge(tariff, q).amount_minor
                for q in range(lower + 1, upper + 1)
            ]
            assert amounts == sorted(amounts)
            # And equals the whole quantity at the holding tier's price.
            for q, got in zip(range(lower + 1, upper + 1), amounts, strict=True):
                exact = Fraction(tier["unit_amount_decimal"]) * q + tier["flat_amount"]
                assert Fraction(price_breakdown(tariff, q)["total_decimal"]) == exact
                assert got >= exact.numerator // exact.denominator
            lower = upper
