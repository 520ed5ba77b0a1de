"""Disputes (issue 12): opening records the bundle's verification, evidence
is pinned by SHA-256, and only Stripe's transitions apply."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.errors import (
    BundleNotFound,
    DisputeDecisionInvalid,
    DisputeEvidenceHashMismatch,
    DisputeEvidenceInvalid,
    DisputeEvidenceLimit,
    DisputeEvidenceOverdue,
    DisputeExists,
    DisputeStateInvalid,
)
from billing.models import Bundle, CreditNote, Dispute, DisputeEvidence
from billing.services import disputes as dispute_services
from billing.services.disputes import (
    MAX_EVIDENCE_FILES,
    MAX_EVIDENCE_TEXT_CHARS,
    EvidenceFile,
    dispute_decide,
    dispute_evidence_add,
    dispute_open,
    dispute_review_start,
    dispute_withdraw,
)
from tests.billing.factories import BundleFactory, DisputeFactory, TenantFactory
from tests.billing.protocol.check_names import STANDARD_CHECK_NAMES

pytestmark = pytest.mark.django_db


def _file(content: bytes, name: str = "log.txt") -> EvidenceFile:
    return EvidenceFile(
        name=name, sha256=hashlib.sha256(content).hexdigest(), content=content
    )


@pytest.fixture
def bundle(signing_keys: Any) -> Bundle:
    """A real signed, logged bundle of a fresh tenant."""
    return BundleFactory()


def test_open_records_the_verification_and_the_deadline(
    bundle: Bundle, settings: Any
) -> None:
    """The dispute starts in needs_response, due MP_DISPUTE_EVIDENCE_DAYS
    after opening, with the bundle's standard-profile report stored and ok,
    and its files pinned by SHA-256."""
    settings.MP_DISPUTE_EVIDENCE_DAYS = 10
    now = timezone.now()
    dispute = dispute_open(
        tenant=bundle.tenant,
        receipt_id=bundle.receipt_id,
        reason="wrong_tariff",
        evidence_text="the contract says 1 cent",
        evidence_files=[_file(b"GET /v1/things 200\n")],
        now=now,
    )
    dispute.refresh_from_db()
    assert dispute.dispute_id.startswith("dp_") and len(dispute.dispute_id) == 27
    int(dispute.dispute_id[3:], 16)
    assert dispute.state == "needs_response"
    assert dispute.evidence_due_by == now + timedelta(days=10)
    assert dispute.verification_ok is True
    assert dispute.verification["ok"] is True
    assert dispute.verification["profile"] == "standard"
    assert [c["name"] for c in dispute.verification["checks"]] == list(
        STANDARD_CHECK_NAMES
    )
    (evidence,) = dispute.evidence_files.all()
    assert evidence.sha256 == hashlib.sha256(b"GET /v1/things 200\n").hexdigest()
    assert (
        evidence.size_bytes == 19 and bytes(evidence.content) == b"GET /v1/things 200\n"
    )


def test_a_tampered_bundle_is_recorded_as_failing(bundle: Bundle) -> None:
    """The report is the verifier's verdict on the bundle as stored: a
    bundle whose stored document was altered opens a dispute whose
    verification failed (``charge_recompute`` names it)."""
    document = bundle.document.replace(
        f'"amount_minor":{bundle.amount_minor}', '"amount_minor":999999'
    )
    assert document != bundle.document
    Bundle.objects.filter(pk=bundle.pk).update(document=document)
    dispute = dispute_open(
        tenant=bundle.tenant, receipt_id=bundle.receipt_id, reason="other"
    )
    assert dispute.verification_ok is False
    failed = {c["name"] for c in dispute.verification["checks"] if not c["ok"]}
    assert "charge_recompute" in failed


def test_another_tenants_receipt_is_not_found_and_nothing_stored(
    bundle: Bundle,
) -> None:
    """A receipt of another tenant answers like an unknown one."""
    stranger = TenantFactory()
    for receipt_id in (bundle.receipt_id, "rcpt_unknown"):
        with pytest.raises(BundleNotFound) as caught:
            dispute_open(tenant=stranger, receipt_id=receipt_id, reason="duplicate")
        assert caught.value.code == "bundle_not_found"
        assert caught.value.field == "receipt_id"
    assert Dispute.objects.count() == 0 and DisputeEvidence.objects.count() == 0


def test_a_bad_sha256_is_refused_and_nothing_stored(bundle: Bundle) -> None:
    """Content that does not hash to the stated digest, or a digest that is
    not 64 lowercase hex, refuses the whole dispute."""
    wrong = EvidenceFile(
        name="a.txt", sha256=hashlib.sha256(b"x").hexdigest(), content=b"y"
    )
    with pytest.raises(DisputeEvidenceHashMismatch) as caught:
        dispute_open(
            tenant=bundle.tenant,
            receipt_id=bundle.receipt_id,
            reason="other",
            evidence_files=[_file(b"fine"), wrong],
        )
    assert caught.value.code == "dispute_evidence_sha256_mismatch"
    assert caught.value.field == "evidence_files[1].sha256"
    upper = EvidenceFile(
        name="a.txt", sha256=hashlib.sha256(b"y").hexdigest().upper(), content=b"y"
    )
    with pytest.raises(DisputeEvidenceInvalid) as caught:
        dispute_open(
            tenant=bundle.tenant,
            receipt_id=bundle.receipt_id,
            reason="other",
            evidence_files=[upper],
        )
    assert caught.value.code == "dispute_evidence_invalid"
    assert Dispute.objects.count() == 0 and DisputeEvidence.objects.count() == 0


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a\\b", "tab\there", "x" * 201])
def test_a_bad_file_name_is_refused(bundle: Bundle, name: str) -> None:
    """Names are 1-200 printable characters without path separators."""
    with pytest.raises(DisputeEvidenceInvalid) as caught:
        dispute_open(
            tenant=bundle.tenant,
            receipt_id=bundle.receipt_id,
            reason="other",
            evidence_files=[_file(b"x", name=name)],
        )
    assert caught.value.field == "evidence_files[0].name"
    assert Dispute.objects.count() == 0


def test_an_unknown_reason_is_refused(bundle: Bundle) -> None:
    """The reason is one of the four codes."""
    with pytest.raises(ValidationError) as caught:
        dispute_open(tenant=bundle.tenant, receipt_id=bundle.receipt_id, reason="meh")
    assert "reason" in caught.value.error_dict
    assert Dispute.objects.count() == 0


def test_one_open_dispute_per_bundle(bundle: Bundle) -> None:
    """A second open dispute of the bundle is 409 dispute_exists; once the
    first is closed a new one may open; the database refuses two open ones
    even past the service."""
    first = dispute_open(
        tenant=bundle.tenant, receipt_id=bundle.receipt_id, reason="other"
    )
    with pytest.raises(DisputeExists) as caught:
        dispute_open(tenant=bundle.tenant, receipt_id=bundle.receipt_id, reason="other")
    assert caught.value.code == "dispute_exists"
    second_row = Dispute(
        dispute_id="dp_" + "0" * 24,
        tenant=bundle.tenant,
        bundle=bundle,
        reason="other",
        evidence_due_by=first.evidence_due_by,
        verification={},
        verification_ok=False,
        opened_at=first.opened_at,
        updated_at=first.opened_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second_row.save()
    dispute_withdraw(dispute=first)
    again = dispute_open(
        tenant=bundle.tenant, receipt_id=bundle.receipt_id, reason="other"
    )
    assert again.state == "needs_response"
    assert Dispute.objects.filter(bundle=bundle).count() == 2


def test_valid_transitions_to_won_and_lost(signing_keys: Any) -> None:
    """needs_response → under_review → won (credit call site used) or lost
    (note kept, decided_by recorded)."""
    staff = User.objects.create_user("ops", is_staff=True)
    won = dispute_review_start(dispute=DisputeFactory(), actor=staff)
    assert won.state == "under_review" and won.review_started_at is not None
    won = dispute_decide(dispute=won, outcome="won", note="", actor=staff)
    won.refresh_from_db()
    assert won.state == "won" and won.decided_at is not None
    assert won.decided_by == staff and won.decided_by_label == "ops"
    credit = CreditNote.objects.get(credit_note_id=won.credit_note_id)
    assert credit.bundle == won.bundle and credit.reason_code == "dispute"
    assert credit.amount_minor == -won.bundle.amount_minor
    assert credit.issued_by == staff

    lost = DisputeFactory(under_review=True)
    lost = dispute_decide(
        dispute=lost, outcome="lost", note="  the log shows two requests ", actor=staff
    )
    lost.refresh_from_db()
    assert lost.state == "lost" and lost.decision_note == "the log shows two requests"


def test_won_issues_the_credit_through_the_marked_call_site(
    signing_keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deciding won calls ``_issue_credit_for_won_dispute`` once, inside the
    decision, with the decided dispute and the actor, and stores the credit
    note id it returns; a failure there rolls the decision back."""
    calls: list[tuple[str, str, Any]] = []

    def issue(dispute: Dispute, actor: Any) -> str:
        calls.append((dispute.dispute_id, dispute.state, actor))
        return "cn_test"

    monkeypatch.setattr(dispute_services, "_issue_credit_for_won_dispute", issue)
    dispute = DisputeFactory(under_review=True)
    dispute_decide(dispute=dispute, outcome="won", actor=None)
    dispute.refresh_from_db()
    assert calls == [(dispute.dispute_id, "won", None)]
    assert dispute.credit_note_id == "cn_test"

    def fail(dispute: Dispute, actor: Any) -> str:
        raise DisputeEvidenceLimit("credit refused")

    monkeypatch.setattr(dispute_services, "_issue_credit_for_won_dispute", fail)
    other = DisputeFactory(under_review=True)
    with pytest.raises(DisputeEvidenceLimit):
        dispute_decide(dispute=other, outcome="won")
    other.refresh_from_db()
    assert other.state == "under_review" and other.decided_at is None


def test_lost_needs_a_note_and_outcomes_are_won_or_lost(signing_keys: Any) -> None:
    """Deciding lost without a note, or an unknown outcome, changes nothing."""
    dispute = DisputeFactory(under_review=True)
    for outcome, note, field in (("lost", "  ", "note"), ("withdrawn", "x", "outcome")):
        with pytest.raises(DisputeDecisionInvalid) as caught:
            dispute_decide(dispute=dispute, outcome=outcome, note=note)
        assert caught.value.code == "dispute_decision_invalid"
        assert caught.value.field == field
    dispute.refresh_from_db()
    assert dispute.state == "under_review"


def test_invalid_transitions_are_409(signing_keys: Any) -> None:
    """Deciding before the review, reviewing twice, and any step out of a
    closed state are dispute_state_invalid; the state is unchanged."""
    fresh = DisputeFactory()
    with pytest.raises(DisputeStateInvalid) as caught:
        dispute_decide(dispute=fresh, outcome="won")
    assert caught.value.code == "dispute_state_invalid"
    assert "needs_response" in caught.value.message
    reviewing = dispute_review_start(dispute=fresh)
    with pytest.raises(DisputeStateInvalid):
        dispute_review_start(dispute=reviewing)
    with pytest.raises(DisputeStateInvalid):
        dispute_evidence_add(dispute=reviewing, evidence_text="late")
    done = dispute_decide(dispute=reviewing, outcome="lost", note="no")
    for step in (
        lambda: dispute_withdraw(dispute=done),
        lambda: dispute_review_start(dispute=done),
        lambda: dispute_decide(dispute=done, outcome="won"),
    ):
        with pytest.raises(DisputeStateInvalid):
            step()
    done.refresh_from_db()
    assert done.state == "lost"


def test_withdraw_from_either_open_state(signing_keys: Any) -> None:
    """The tenant withdraws in needs_response or under_review, once."""
    first = dispute_withdraw(dispute=DisputeFactory())
    second = dispute_withdraw(dispute=DisputeFactory(under_review=True))
    for dispute in (first, second):
        dispute.refresh_from_db()
        assert dispute.state == "withdrawn" and dispute.withdrawn_at is not None
    with pytest.raises(DisputeStateInvalid):
        dispute_withdraw(dispute=first)


def test_evidence_is_added_until_the_deadline(signing_keys: Any) -> None:
    """Text is appended after a blank line and files are pinned; after
    evidence_due_by nothing more is accepted."""
    dispute = DisputeFactory(evidence_text="first")
    dispute_evidence_add(
        dispute=dispute, evidence_text="second", evidence_files=[_file(b"pcap")]
    )
    dispute.refresh_from_db()
    assert dispute.evidence_text == "first\n\nsecond"
    assert [e.name for e in dispute.evidence_files.all()] == ["log.txt"]
    with pytest.raises(DisputeEvidenceInvalid):
        dispute_evidence_add(dispute=dispute)
    late = dispute.evidence_due_by + timedelta(seconds=1)
    with pytest.raises(DisputeEvidenceOverdue) as caught:
        dispute_evidence_add(dispute=dispute, evidence_text="late", now=late)
    assert caught.value.code == "dispute_evidence_overdue"
    dispute.refresh_from_db()
    assert dispute.evidence_text == "first\n\nsecond"


def test_evidence_limits(signing_keys: Any) -> None:
    """A dispute holds at most MAX_EVIDENCE_FILES files and
    MAX_EVIDENCE_TEXT_CHARS characters of text, separators included."""
    dispute = DisputeFactory()
    files = [_file(bytes([i]), name=f"f{i}") for i in range(MAX_EVIDENCE_FILES)]
    dispute_evidence_add(dispute=dispute, evidence_files=files)
    with pytest.raises(DisputeEvidenceLimit) as caught:
        dispute_evidence_add(dispute=dispute, evidence_files=[_file(b"one more")])
    assert caught.value.code == "dispute_evidence_limit"
    assert dispute.evidence_files.count() == MAX_EVIDENCE_FILES
    room = MAX_EVIDENCE_TEXT_CHARS - len(dispute.evidence_text) - 2
    with pytest.raises(DisputeEvidenceLimit) as caught:
        dispute_evidence_add(dispute=dispute, evidence_text="x" * (room + 1))
    assert caught.value.field == "evidence_text"
    dispute_evidence_add(dispute=dispute, evidence_text="x" * room)
    dispute.refresh_from_db()
    assert len(dispute.evidence_text) == MAX_EVIDENCE_TEXT_CHARS
