"""``manage.py tariff_import FILE [--publish]``: a tariff document becomes a
draft or published version, idempotently, with one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Bundle, Tariff, TariffVersion
from billing.protocol.tariff import TariffDocument, compute_charge
from billing.services.attest import meter_events_attest
from tests.billing.factories import TariffVersionFactory, TenantFactory
from tests.support.cli import REPO

pytestmark = pytest.mark.django_db

#: Issue 12's graduated example: 0-1,000 at 3.5, 1,001-4,000 at 1.25 plus a
#: 500 flat fee, above at 0.3333333 (minor units), half_even.
GRADUATED: dict[str, Any] = {
    "tariff_id": "graduated-example",
    "version": 1,
    "currency": "USD",
    "metric": "api_requests",
    "pricing": {
        "model": "tiered_graduated",
        "tiers": [
            {"up_to": 1000, "unit_amount_decimal": "3.5", "flat_amount": 0},
            {"up_to": 4000, "unit_amount_decimal": "1.25", "flat_amount": 500},
            {"up_to": None, "unit_amount_decimal": "0.3333333", "flat_amount": 0},
        ],
    },
    "rounding": "half_even",
    "effective_from": "2015-01-01T00:00:00Z",
    "effective_to": None,
}


def _write(tmp_path: Path, document: Any, name: str = "tariff.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _import(path: Path, *, publish: bool = False) -> tuple[dict[str, Any], str]:
    out, err = StringIO(), StringIO()
    call_command("tariff_import", str(path), publish=publish, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_import_creates_a_draft_then_publishes_it(tmp_path: Path) -> None:
    """A new tariff id makes the Tariff and a draft with the document's
    version number; the printed hash is the document's; --publish on the
    same file seals that draft (same hash) instead of adding a version."""
    path = _write(tmp_path, GRADUATED)
    expected = TariffDocument.from_json(GRADUATED).tariff_hash
    printed, said = _import(path)
    assert printed == {
        "tariff_id": "graduated-example",
        "version": 1,
        "tariff_hash": expected,
        "status": "draft",
    }
    assert said.startswith("created:")
    tariff = Tariff.objects.get(tariff_id="graduated-example")
    assert (tariff.metric, tariff.currency) == ("api_requests", "USD")
    draft = tariff.versions.get()
    assert (draft.status, draft.tariff_hash, draft.rounding) == (
        "draft",
        "",
        "half_even",
    )

    printed, said = _import(path, publish=True)
    assert printed == {**printed, "status": "published", "tariff_hash": expected}
    assert said.startswith("published:")
    sealed = tariff.versions.get()
    assert (sealed.pk, sealed.status, sealed.tariff_hash) == (
        draft.pk,
        "published",
        expected,
    )
    assert sealed.document == GRADUATED


def test_import_is_idempotent(tmp_path: Path) -> None:
    """The same document again reports the stored version, draft or
    published, and creates nothing."""
    path = _write(tmp_path, GRADUATED)
    first, _ = _import(path)
    again, said = _import(path)
    assert again == first and said.startswith("unchanged:")
    published, _ = _import(path, publish=True)
    for publish in (False, True):
        again, said = _import(path, publish=publish)
        assert again == published and said.startswith("unchanged:")
    assert TariffVersion.objects.count() == 1


def test_import_replaces_a_draft_of_the_same_version(tmp_path: Path) -> None:
    """Drafts are editable: another document with the draft's number
    replaces its prices (``updated``), still one version."""
    _import(_write(tmp_path, GRADUATED))
    changed = {**GRADUATED, "rounding": "up"}
    printed, said = _import(_write(tmp_path, changed, "changed.json"))
    assert said.startswith("updated:")
    assert printed["tariff_hash"] == TariffDocument.from_json(changed).tariff_hash
    assert TariffVersion.objects.get().rounding == "up"


def test_export_then_import_keeps_the_tariff_hash(tmp_path: Path) -> None:
    """Round trip: ``export_tariff`` of a published version imports as that
    version (same ``tariff_hash``), and an imported, published document
    exports back unchanged."""
    version = TariffVersionFactory(
        pricing=GRADUATED["pricing"], rounding="half_even", published=True
    )
    exported = tmp_path / "exported.json"
    call_command(
        "export_tariff",
        version.tariff.tariff_id,
        out=str(exported),
        stderr=StringIO(),
    )
    printed, said = _import(exported, publish=True)
    assert said.startswith("unchanged:")
    assert printed["tariff_hash"] == version.tariff_hash
    assert (printed["tariff_id"], printed["version"]) == (
        version.tariff.tariff_id,
        version.version,
    )

    imported, _ = _import(_write(tmp_path, GRADUATED), publish=True)
    out = StringIO()
    call_command("export_tariff", "graduated-example", stdout=out)
    assert json.loads(out.getvalue()) == GRADUATED
    assert (
        TariffDocument.from_json(json.loads(out.getvalue())).tariff_hash
        == imported["tariff_hash"]
    )


def test_imported_graduated_tariff_prices_each_event(
    tmp_path: Path, signing_keys: Any
) -> None:
    """Issue 12's graduated example, imported and published, prices a
    single event as the per-event rule does: quantity 1 is 3.5 -> 4
    (half_even), quantity 5,000 is 3,500 + 3,750 + 500 + 333.3333 -> 8,083."""
    printed, _ = _import(_write(tmp_path, GRADUATED), publish=True)
    tariff = Tariff.objects.get(tariff_id="graduated-example")
    tenant = TenantFactory(slug="graduated", subscribe=tariff)
    events = [
        {
            "tenant": "graduated",
            "event_id": f"evt-{quantity}",
            "window": "2015-05",
            "metric": "api_requests",
            "quantity": quantity,
            "occurred_at": "2015-05-17T10:00:00Z",
            "attributes": {},
        }
        for quantity in (1, 5000)
    ]
    outcomes = meter_events_attest(
        payloads=events, tenant=tenant, backfill=True, prove=False
    )
    assert [o.status for o in outcomes] == ["attested", "attested"]
    document = TariffDocument.from_json(GRADUATED)
    amounts = {}
    for bundle in Bundle.objects.select_related("meter_event", "tariff_version"):
        quantity = bundle.meter_event.quantity
        assert bundle.tariff_version.tariff_hash == printed["tariff_hash"]
        assert bundle.amount_minor == compute_charge(document, quantity).amount_minor
        amounts[quantity] = bundle.amount_minor
    assert amounts == {1: 4, 5000: 8083}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"tariff_id": ', "malformed_json"),
        (b'{"a": 1, "a": 2}', "duplicate_member"),
        (b"\xff\xfe", "invalid_unicode"),
        (b"[1, 2]", "tariff_invalid"),
        (
            json.dumps({**GRADUATED, "rounding": "sideways"}).encode(),
            "tariff_invalid: rounding",
        ),
        (
            json.dumps({**GRADUATED, "surprise": 1}).encode(),
            "tariff_invalid",
        ),
    ],
)
def test_bad_files_are_one_line_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    """Not JSON (strict reader), or not a tariff: a CommandError naming the
    file and the error's code; nothing is stored."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CommandError) as caught:
        _import(path, publish=True)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text
    assert not Tariff.objects.exists()


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file or a directory: a CommandError saying it cannot be read."""
    for path in (tmp_path / "missing.json", tmp_path):
        with pytest.raises(CommandError, match=r"cannot read"):
            _import(path)


def test_conflicts_with_stored_versions(tmp_path: Path) -> None:
    """Another hash for a published version number, another metric or
    currency for the tariff, and a second published version with the same
    start are refused with their codes, changing nothing."""
    _import(_write(tmp_path, GRADUATED), publish=True)
    cases = [
        ({**GRADUATED, "rounding": "up"}, "tariff_version_conflict", "version"),
        (
            {**GRADUATED, "version": 2, "currency": "EUR"},
            "tariff_version_conflict",
            "currency",
        ),
        (
            {**GRADUATED, "version": 2, "metric": "bytes"},
            "tariff_version_conflict",
            "metric",
        ),
        (
            {**GRADUATED, "version": 2, "rounding": "up"},
            "tariff_publish_conflict",
            "effective_from",
        ),
    ]
    for document, code, field in cases:
        with pytest.raises(CommandError) as caught:
            _import(_write(tmp_path, document, "conflict.json"), publish=True)
        assert f": {code}: " in str(caught.value)
        assert str(caught.value).endswith(f"(field {field})")
    assert list(TariffVersion.objects.values_list("version", "status")) == [
        (1, "published")
    ]
    # without --publish the same start is fine: a draft to publish later
    printed, _ = _import(
        _write(tmp_path, {**GRADUATED, "version": 2, "rounding": "up"}, "v2.json")
    )
    assert (printed["version"], printed["status"]) == (2, "draft")


def test_command_line_error_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    """Run as users do: exit code 1 and one ``CommandError:`` line, the last
    on stderr (system-check warnings of this key-less environment may come
    first), no traceback."""
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    env = {
        **os.environ,
        "MP_READ_DOT_ENV": "0",
        "MP_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "tariff_import", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("CommandError")]
    assert errors == [lines[-1]]
    assert f"{path}: malformed_json: " in errors[0]
    assert "Traceback" not in result.stderr
