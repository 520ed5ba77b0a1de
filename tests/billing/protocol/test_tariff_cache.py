"""``TariffDocument.from_json`` caches parses by the exact JSON: the same
value gives the same (immutable) document, any difference parses afresh,
and failures and values outside the exact subset are never cached."""

from __future__ import annotations

import copy

import pytest

from billing.protocol.errors import TariffError
from billing.protocol.tariff import TariffDocument
from tests.billing.protocol.builders import tariff_json, volume_tariff_json


def test_same_json_gives_the_same_document_and_hash() -> None:
    """Two equal tariff objects parse to one cached document."""
    first = TariffDocument.from_json(tariff_json())
    second = TariffDocument.from_json(tariff_json())
    assert first is second
    assert first.tariff_hash == second.tariff_hash


def test_any_difference_parses_afresh() -> None:
    """A changed member (even one tier digit) is another document with
    another hash; mutating the input after a parse cannot reach the cache."""
    obj = tariff_json()
    first = TariffDocument.from_json(obj)
    obj["pricing"]["tiers"][0]["unit_amount_decimal"] = "701"
    second = TariffDocument.from_json(obj)
    assert second is not first
    assert second.pricing != first.pricing
    assert second.tariff_hash != first.tariff_hash
    assert TariffDocument.from_json(volume_tariff_json()).pricing != first.pricing


def test_failures_are_not_cached() -> None:
    """An invalid tariff fails every time, with the same field."""
    bad = tariff_json(currency="usd")
    for _ in range(2):
        with pytest.raises(TariffError) as info:
            TariffDocument.from_json(copy.deepcopy(bad))
        assert info.value.field == "currency"


def test_values_outside_the_exact_subset_are_checked_afresh() -> None:
    """A tuple where the format wants an array has no cache key: it gets the
    parser's own verdict, not the cached document of the equal list."""
    good = tariff_json()
    cached = TariffDocument.from_json(good)
    odd = tariff_json()
    odd["pricing"]["tiers"] = tuple(odd["pricing"]["tiers"])
    try:
        parsed = TariffDocument.from_json(odd)
    except TariffError:
        return
    assert parsed is not cached
