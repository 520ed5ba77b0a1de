"""Credit notes in statements: ``statement_close`` lists the credit notes
that net into the period and sums them into ``amount_minor``;
``verify_statement`` verifies the credit-note files given with the bundles
and requires them to be exactly the listed set (``statement_credit_notes``,
docs/PROTOCOL.md §13.3)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.errors import StatementCurrencyMixed
from billing.models import BillingPeriod, Bundle, CreditNote, Statement
from billing.protocol.credit_note import credit_note_leaf_hash
from billing.protocol.statement import STATEMENT_CHECKS, StatementReport
from billing.services.credit_notes import (
    credit_note_file_get_sequenced,
    credit_note_issue,
)
from billing.services.statements import statement_close
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
    period_inputs,
    resign,
    verify,
)
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db

#: Inside the open period's grace time: the credit nets into PERIOD.
ISSUED_AT = datetime(2015, 6, 5, 12, 0, tzinfo=UTC)


def _failed(report: StatementReport) -> dict[str, str | None]:
    return {c.name: c.code for c in report.checks if c.status == "fail"}


def _message(report: StatementReport, name: str) -> str:
    return next(c.message or "" for c in report.checks if c.name == name)


def _credit(bundle: Bundle, amount_minor: int, now: datetime = ISSUED_AT) -> CreditNote:
    return credit_note_issue(
        bundle=bundle,
        amount_minor=amount_minor,
        reason_code="correction",
        reason_text="double-counted call",
        now=now,
    )


def _file(note: CreditNote) -> tuple[str, dict[str, Any]]:
    return (
        f"credit_notes/{note.credit_note_id}.json",
        credit_note_file_get_sequenced(credit_note_id=note.credit_note_id),
    )


@pytest.fixture
def credited(
    signing_keys: TestKeys,
) -> tuple[Statement, list[CreditNote], dict[str, Any], list[tuple[str, Any]]]:
    """Period 2015-05 of ``acme``: 6 events of quantity 1 (3.5 each under
    the graduated tiers), two credit notes issued while it is open, then
    closed; returns the statement, the notes, its file and its inputs
    (bundles, then the credit-note files)."""
    tenant = graduated_tenant()
    attest_period(tenant, 6)
    first, second = Bundle.objects.filter(tenant=tenant).order_by("sequence_number")[:2]
    notes = [_credit(first, -4), _credit(second, -2)]
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    document, bundles = period_inputs(statement)
    return statement, notes, document, [*bundles, *(_file(n) for n in notes)]


def test_close_lists_the_period_credit_notes(credited: Any) -> None:
    """The statement lists both credit notes (id, leaf hash, amount) sorted
    by id, and its total is Σ lines + Σ credits."""
    statement, notes, document, _ = credited
    signed = document["statement"]
    expected = sorted(
        (
            {
                "credit_note_id": n.credit_note_id,
                "leaf_hash": n.leaf_hash,
                "amount_minor": n.amount_minor,
            }
            for n in notes
        ),
        key=lambda item: item["credit_note_id"],
    )
    assert signed["credit_notes"] == expected
    lines = sum(line["amount_minor"] for line in signed["lines"])
    assert lines == 21  # 6 x 3.5
    assert signed["amount_minor"] == statement.amount_minor == 21 - 4 - 2
    for note in notes:
        assert credit_note_leaf_hash(_file(note)[1]) == note.leaf_hash


def test_statement_with_its_credit_notes_passes(credited: Any) -> None:
    """Every check passes; the report lists the credits as given and counts
    the credit-note files apart from the bundles (also with workers)."""
    _, notes, document, inputs = credited
    report = verify(document, inputs)
    assert report.ok, report.to_json()
    assert [c.name for c in report.checks] == list(STATEMENT_CHECKS)
    assert report.bundles["given"] == 6
    assert report.credit_note_files == {
        "given": 2,
        "valid": 2,
        "invalid": 0,
        "foreign": 0,
    }
    out = report.to_json()
    assert {n["credit_note_id"] for n in out["credit_notes"]} == {
        n.credit_note_id for n in notes
    }
    assert all(n["given"] for n in out["credit_notes"])
    assert verify(document, inputs, jobs=2).ok


def test_missing_credit_note_names_it(credited: Any) -> None:
    """A listed credit note is required: without its file the statement
    fails ``statement_credit_note_missing`` naming the id."""
    _, notes, document, inputs = credited
    dropped = notes[1].credit_note_id
    kept = [item for item in inputs if dropped not in item[0]]
    report = verify(document, kept)
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_missing"
    }
    assert dropped in _message(report, "statement_credit_notes")
    assert not next(n for n in report.credit_notes if n["credit_note_id"] == dropped)[
        "given"
    ]


def test_changed_credit_note_amount_fails(credited: Any) -> None:
    """A credit-note file whose amount was changed fails its signature:
    ``statement_credit_note_invalid`` names it and its failed check."""
    _, notes, document, inputs = credited
    name, changed = inputs[-1]
    changed = copy.deepcopy(changed)
    changed["credit_note"]["amount_minor"] = -1
    report = verify(document, [*inputs[:-1], (name, changed)])
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_invalid"
    }
    message = _message(report, "statement_credit_notes")
    assert notes[1].credit_note_id in message or notes[0].credit_note_id in message
    assert "issuer_signature" in message


def test_lying_issuer_listed_amount_fails_mismatch(
    credited: Any, signing_keys: TestKeys
) -> None:
    """A statement (re-signed) listing a credit with another amount than the
    credit note's fails ``statement_credit_note_mismatch`` (the total is
    kept consistent, so only the credit check names it)."""
    _, _, document, inputs = credited
    signed = document["statement"]
    signed["credit_notes"][0]["amount_minor"] -= 1
    signed["amount_minor"] -= 1
    report = verify(resign(document, signing_keys), inputs)
    failed = _failed(report)
    assert failed["statement_credit_notes"] == "statement_credit_note_mismatch"
    assert "statement_total" not in failed


def test_lying_issuer_omitted_credit_fails_unlisted(
    credited: Any, signing_keys: TestKeys
) -> None:
    """A statement (re-signed) that leaves a credit note of the period out
    fails ``statement_credit_note_unlisted`` when the tenant gives it."""
    _, _, document, inputs = credited
    signed = document["statement"]
    dropped = signed["credit_notes"].pop()
    signed["amount_minor"] -= dropped["amount_minor"]
    report = verify(resign(document, signing_keys), inputs)
    assert _failed(report)["statement_credit_notes"] == (
        "statement_credit_note_unlisted"
    )
    assert dropped["credit_note_id"] in _message(report, "statement_credit_notes")


def test_credit_note_of_another_period_is_foreign(credited: Any) -> None:
    """A credit note issued after the close nets into the next open period;
    given with this statement it fails ``statement_credit_note_foreign``."""
    statement, _, document, inputs = credited
    later = _credit(
        Bundle.objects.filter(tenant=statement.tenant).order_by("sequence_number")[2],
        -1,
        now=datetime(2015, 7, 3, tzinfo=UTC),
    )
    assert later.period == "2015-07"
    report = verify(document, [*inputs, _file(later)])
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_foreign"
    }


def test_credit_note_given_twice_fails_duplicate(credited: Any) -> None:
    """The same credit-note file twice fails
    ``statement_credit_note_duplicate``."""
    _, _, document, inputs = credited
    report = verify(document, [*inputs, inputs[-1]])
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_duplicate"
    }


def test_credit_notes_from_jsonl_bytes_verify(credited: Any) -> None:
    """Credit-note files given as bytes (a ``.jsonl`` line) are recognised
    by their ``format``."""
    _, _, document, inputs = credited
    as_bytes = [(name, json.dumps(item).encode()) for name, item in inputs]
    assert verify(document, as_bytes).ok


def test_credits_in_another_currency_are_refused(signing_keys: TestKeys) -> None:
    """Closing a period whose credit notes are in another currency than its
    bundles is refused (``statement_currency_mixed``); nothing changes."""
    tenant = graduated_tenant()
    attest_period(tenant, 2)
    bundle = Bundle.objects.filter(tenant=tenant).first()
    assert bundle is not None
    note = _credit(bundle, -1)
    CreditNote.objects.filter(pk=note.pk).update(currency="XTS")
    with pytest.raises(StatementCurrencyMixed):
        statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    assert not Statement.objects.exists()
    assert BillingPeriod.objects.get(tenant=tenant, period=PERIOD).closed_at is None
