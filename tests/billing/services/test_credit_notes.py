"""Credit notes (``billing.services.credit_notes``): issued signed and logged,
verified offline, refused when larger than what is left (nothing stored),
netted into the open period, and issued once when staff revoke."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from billing.errors import (
    CreditNoteAmountInvalid,
    CreditNoteExceedsOriginal,
    CreditNoteImmutable,
    CreditNoteReasonInvalid,
)
from billing.models import BillingPeriod, Bundle, CreditNote
from billing.protocol.cli import main
from billing.protocol.credit_note import credit_note_leaf_hash
from billing.protocol.verify.credit_note import (
    CREDIT_NOTE_CHECK_NAMES,
    verify_credit_note,
)
from billing.selectors import bundle_get, trust_anchors_get
from billing.selectors_credit_notes import (
    credit_note_file_get,
    credit_notes_for_period,
)
from billing.services.credit_notes import (
    credit_note_issue,
    credit_note_remaining_minor,
)
from revocation.models import RevokedAttestation
from revocation.services.revocations import (
    revocation_attestation_add,
    revocation_attestation_lift,
)
from tests.billing.factories import BundleFactory
from transparency.models import LogEntry, QueuedEntry

pytestmark = pytest.mark.django_db

#: The issue clock of the tests (the factory's events are of 2015-05).
NOW = datetime(2015, 6, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def bundle(signing_keys: Any) -> Bundle:
    """A bundle of 3 events' worth (amount > 0) in period 2015-05."""
    row = BundleFactory(quantity=3)
    assert row.amount_minor > 0
    return row


@pytest.fixture
def issue(django_capture_on_commit_callbacks: Any) -> Callable[..., CreditNote]:
    """Return ``issue(bundle, amount_minor, **options)``: a credit note issued
    at :data:`NOW` (reason ``correction``), its on-commit callbacks run (the
    leaf is sequenced after the commit; the test's transaction never
    commits)."""

    def run(bundle: Bundle, amount_minor: Any, **extra: Any) -> CreditNote:
        with django_capture_on_commit_callbacks(execute=True):
            return credit_note_issue(
                bundle=bundle,
                amount_minor=amount_minor,
                reason_code=extra.pop("reason_code", "correction"),
                reason_text=extra.pop("reason_text", "billed twice"),
                now=extra.pop("now", NOW),
                **extra,
            )

    return run


def _write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_issued_credit_note_is_logged_and_verifies_offline(
    issue: Callable[..., CreditNote], bundle: Bundle, tmp_path: Path, capsys: Any
) -> None:
    """A credit note is stored, sequenced in the log and verifies with the
    CLI (exit 0, every named check passes) against its original bundle."""
    note = issue(bundle, -1)
    assert note.period == "2015-05" and note.amount_minor == -1
    assert note.credit_note_id.startswith("cn_") and len(note.credit_note_id) == 27
    assert LogEntry.objects.filter(leaf_hash=note.leaf_hash).exists()
    file = credit_note_file_get(credit_note_id=note.credit_note_id)
    assert credit_note_leaf_hash(file) == note.leaf_hash == file["log"]["leaf_hash"]
    body = file["credit_note"]
    assert body["original"] == {
        "receipt_id": bundle.receipt_id,
        "leaf_hash": bundle.leaf_hash,
        "period": "2015-05",
        "amount_minor": bundle.amount_minor,
    }
    assert body["reason"] == {"code": "correction", "text": "billed twice"}
    trust = _write(tmp_path / "trust.json", trust_anchors_get().to_json())
    _write(
        tmp_path / f"{bundle.receipt_id}.json", bundle_get(receipt_id=bundle.receipt_id)
    )
    path = _write(tmp_path / "cn.json", file)
    code = main(["verify", str(path), "--trust", str(trust), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    (report,) = out["reports"]
    assert report["kind"] == "credit_note" and report["original_checked"] is True
    assert [c["name"] for c in report["checks"]] == list(CREDIT_NOTE_CHECK_NAMES)
    assert {c["status"] for c in report["checks"]} == {"pass"}
    assert out["credit_notes"] == 1 and out["amount_minor_total"] == -1


def test_changed_amount_fails_a_named_check(
    issue: Callable[..., CreditNote], bundle: Bundle, tmp_path: Path
) -> None:
    """Changing the signed amount breaks the issuer signature and the log
    inclusion; an amount above the original fails ``credit_note_amount``."""
    file = credit_note_file_get(credit_note_id=issue(bundle, -1).credit_note_id)
    trust = trust_anchors_get()
    file["credit_note"]["amount_minor"] = -2
    report = verify_credit_note(file, trust)
    assert not report.ok
    assert set(report.failed) == {"issuer_signature", "log_inclusion"}
    file["credit_note"]["amount_minor"] = -(bundle.amount_minor + 1)
    report = verify_credit_note(file, trust)
    failed = {c.name: c.code for c in report.checks if c.status == "fail"}
    assert failed["credit_note_amount"] == "credit_note_exceeds_original"
    trust_path = _write(tmp_path / "trust.json", trust.to_json())
    path = _write(tmp_path / "cn.json", file)
    assert main(["verify", str(path), "--trust", str(trust_path)]) == 1


def test_original_of_another_bundle_fails_credit_note_amount(
    issue: Callable[..., CreditNote], bundle: Bundle, tmp_path: Path, capsys: Any
) -> None:
    """``--original`` naming another bundle fails ``credit_note_amount`` with
    ``credit_note_original_mismatch`` (exit 1)."""
    other = BundleFactory(tenant=bundle.tenant, quantity=5)
    file = credit_note_file_get(credit_note_id=issue(bundle, -1).credit_note_id)
    trust = _write(tmp_path / "trust.json", trust_anchors_get().to_json())
    original = _write(tmp_path / "other.json", bundle_get(receipt_id=other.receipt_id))
    path = _write(tmp_path / "cn.json", file)
    code = main(
        [
            "verify",
            str(path),
            "--trust",
            str(trust),
            "--original",
            str(original),
            "--json",
        ]
    )
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert code == 1
    failed = {c["name"]: c["code"] for c in report["checks"] if c["status"] == "fail"}
    assert failed == {"credit_note_amount": "credit_note_original_mismatch"}


def test_exceeding_the_original_is_refused_and_nothing_is_stored(
    issue: Callable[..., CreditNote],
    bundle: Bundle,
) -> None:
    """Credits add up: what is left after earlier credit notes bounds the
    next; a refused one stores no row and queues no leaf."""
    issue(bundle, -(bundle.amount_minor - 1))
    entries = LogEntry.objects.count() + QueuedEntry.objects.count()
    with pytest.raises(CreditNoteExceedsOriginal) as err:
        issue(bundle, -2)
    assert err.value.code == "credit_note_exceeds_original"
    assert err.value.field == "amount_minor"
    assert "1 of" in err.value.message
    assert CreditNote.objects.count() == 1
    assert LogEntry.objects.count() + QueuedEntry.objects.count() == entries
    assert credit_note_remaining_minor(bundle=bundle) == 1


@pytest.mark.parametrize("amount", [0, 5, "-1"])
def test_zero_positive_or_non_integer_amount_is_refused(
    issue: Callable[..., CreditNote], bundle: Bundle, amount: Any
) -> None:
    """Only a negative integer is a credit."""
    with pytest.raises(CreditNoteAmountInvalid):
        issue(bundle, amount)
    assert not CreditNote.objects.exists()


def test_unknown_reason_code_is_refused(
    issue: Callable[..., CreditNote], bundle: Bundle
) -> None:
    """The server issues the documented reason codes only."""
    with pytest.raises(CreditNoteReasonInvalid) as err:
        issue(bundle, -1, reason_code="goodwill")
    assert err.value.field == "reason_code"
    assert not CreditNote.objects.exists()


def test_closed_original_period_nets_into_the_current_open_period(
    issue: Callable[..., CreditNote],
    bundle: Bundle,
) -> None:
    """With the original's period closed, the credit goes to the month of
    ``now``; ``credit_notes_for_period`` lists it there."""
    BillingPeriod.objects.update_or_create(
        tenant=bundle.tenant, period="2015-05", defaults={"closed_at": NOW}
    )
    note = issue(bundle, -1)
    assert note.period == "2015-06"
    body = json.loads(note.document)
    assert body["period"] == "2015-06" and body["original"]["period"] == "2015-05"
    assert list(credit_notes_for_period(tenant=bundle.tenant, period="2015-06")) == [
        note
    ]
    assert not credit_notes_for_period(tenant=bundle.tenant, period="2015-05")


def test_credit_note_is_never_edited_or_deleted(
    issue: Callable[..., CreditNote], bundle: Bundle
) -> None:
    """The row refuses a second save and a delete."""
    note = issue(bundle, -1)
    note.reason_text = "changed"
    with pytest.raises(CreditNoteImmutable):
        note.save()
    with pytest.raises(CreditNoteImmutable):
        note.delete()
    assert CreditNote.objects.get().reason_text == "billed twice"


def test_revocation_issues_one_credit_note_for_what_is_left(
    issue: Callable[..., CreditNote], bundle: Bundle
) -> None:
    """Staff revoking the attestation credits the remaining amount (reason
    ``revocation``); revoking again after a lift issues nothing more."""
    issue(bundle, -1)
    row = revocation_attestation_add(
        receipt_id=bundle.receipt_id, reason="fraudulent meter"
    )
    notes = list(CreditNote.objects.filter(reason_code="revocation"))
    assert len(notes) == 1
    assert notes[0].amount_minor == -(bundle.amount_minor - 1)
    assert notes[0].reason_text == "fraudulent meter"
    assert credit_note_remaining_minor(bundle=bundle) == 0
    revocation_attestation_lift(revoked_attestation=row, reason="mistake")
    revocation_attestation_add(receipt_id=bundle.receipt_id, reason="again")
    assert CreditNote.objects.filter(reason_code="revocation").count() == 1
    assert RevokedAttestation.objects.count() == 2


def test_revocation_of_an_unknown_receipt_issues_nothing(signing_keys: Any) -> None:
    """An attestation this server holds no bundle of is revoked all the same."""
    revocation_attestation_add(receipt_id="rcpt_" + "0" * 24, reason="foreign")
    assert not CreditNote.objects.exists()
