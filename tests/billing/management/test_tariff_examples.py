"""Audit item 35: shipped example tariffs of every pricing model, and
``manage.py export_tariff`` writing the JSON ``meterproof price --tariff``
reads."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.protocol.cli import main
from billing.protocol.tariff import MODELS, TariffDocument, compute_charge
from tests.billing.factories import TariffVersionFactory

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples" / "tariffs"


def _price(capsys: pytest.CaptureFixture[str], path: Path, quantity: int) -> Any:
    code = main(["price", "--tariff", str(path), "--quantity", str(quantity)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_every_pricing_model_has_an_example_that_prices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each model the tariff grammar supports has an example file, and
    ``meterproof price`` prices it: the same charge as the library, for a
    quantity inside each tier."""
    files = sorted(EXAMPLES.glob("*.json"))
    models = {json.loads(f.read_text())["pricing"]["model"] for f in files}
    assert models == set(MODELS)
    for path in files:
        tariff = TariffDocument.from_json(json.loads(path.read_text()))
        for quantity in (0, 1, 7, 2500, 250_000):
            out = _price(capsys, path, quantity)
            assert out["amount_minor"] == compute_charge(tariff, quantity).amount_minor
            assert out["tariff_hash"] == tariff.tariff_hash


@pytest.mark.django_db
def test_export_tariff_writes_what_meterproof_price_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exported published version parses, hashes to the stored
    tariff_hash (the one bundles cite) and prices with the CLI."""
    pricing = json.loads((EXAMPLES / "tiered_graduated.json").read_text())["pricing"]
    version = TariffVersionFactory(pricing=pricing, published=True)
    out = tmp_path / "tariff.json"
    call_command(
        "export_tariff",
        version.tariff.tariff_id,
        out=str(out),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert TariffDocument.from_json(json.loads(out.read_text())).tariff_hash == (
        version.tariff_hash
    )
    assert _price(capsys, out, 12)["tariff_hash"] == version.tariff_hash
    printed = StringIO()
    call_command("export_tariff", version.tariff.tariff_id, stdout=printed)
    assert json.loads(printed.getvalue()) == json.loads(out.read_text())


@pytest.mark.django_db
def test_export_tariff_refuses_drafts_and_unknown_tariffs() -> None:
    """Only a published (immutable, citable) version is exported."""
    draft = TariffVersionFactory()
    with pytest.raises(CommandError, match="no published"):
        call_command("export_tariff", draft.tariff.tariff_id, stdout=StringIO())
    with pytest.raises(CommandError, match="no published"):
        call_command("export_tariff", "nope", stdout=StringIO())
    published = TariffVersionFactory(published=True)
    with pytest.raises(CommandError, match="version 99"):
        call_command(
            "export_tariff",
            published.tariff.tariff_id,
            tariff_version=99,
            stdout=StringIO(),
        )


def test_monthly_graduated_example_prices_the_issue_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The period-pricing example of issue 12: 5,000 units under tiers
    0-1,000 at 3.5, 1,001-4,000 at 1.25 plus a 500 flat fee, above at
    0.3333333 (half_even) cost 3,500 + 500 + 3,750 + 333.3333 = 8,083 minor
    units; one unit alone costs 4 (3.5 rounded half-even)."""
    path = EXAMPLES / "monthly_graduated.json"
    assert _price(capsys, path, 5000)["amount_minor"] == 8083
    assert _price(capsys, path, 1)["amount_minor"] == 4
