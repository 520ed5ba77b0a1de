"""Disputes (writes): a tenant opens one on its own bundle, adds evidence or
withdraws it; staff start the review and decide it ``won`` or ``lost``.

States (Stripe's): ``needs_response`` → ``under_review`` → ``won`` | ``lost``;
``needs_response`` or ``under_review`` → ``withdrawn`` (by the tenant).
Anything else is 409 ``dispute_state_invalid``. Each transition locks the
dispute row and re-reads its state, so two concurrent transitions never both
apply. At most one dispute per bundle is open (service check under a lock on
the bundle row, and the partial unique constraint
``dispute_one_open_per_bundle``).

A dispute decided ``won`` issues the credit note of what is left of the
bundle's charge in the same transaction (:func:`_issue_credit_for_won_dispute`);
every step goes to the staff audit trail (:func:`_audit_dispute_action`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audittrail.services import audit_record
from billing.errors import (
    BundleNotFound,
    DisputeDecisionInvalid,
    DisputeEvidenceInvalid,
    DisputeEvidenceOverdue,
    DisputeExists,
    DisputeStateInvalid,
)
from billing.models import Bundle, Dispute, Tenant
from billing.models_disputes import OPEN_STATES
from billing.protocol.credit_note import MAX_REASON_TEXT_CHARS
from billing.protocol.verify import PROFILES, BundleVerifier
from billing.protocol.verify.options import PROFILE_STANDARD
from billing.selectors import trust_anchors_get, verification_options_get
from billing.services.bundles import bundle_get_sequenced
from billing.services.credit_notes import credit_note_issue, credit_note_remaining_minor
from billing.services.dispute_evidence import (
    EVIDENCE_TEXT_SEPARATOR,
    MAX_EVIDENCE_FILES,
    MAX_EVIDENCE_NAME_CHARS,
    MAX_EVIDENCE_TEXT_CHARS,
    EvidenceFile,
    evidence_files_check,
    evidence_files_store,
    evidence_limits_check,
)
from billing.settings import billing_settings

__all__ = [
    "MAX_EVIDENCE_FILES",
    "MAX_EVIDENCE_NAME_CHARS",
    "MAX_EVIDENCE_TEXT_CHARS",
    "EvidenceFile",
    "dispute_bundle_verify",
    "dispute_decide",
    "dispute_evidence_add",
    "dispute_open",
    "dispute_review_start",
    "dispute_withdraw",
]


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _actor_user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _actor_label(actor: Any) -> str:
    return str(actor.get_username()) if actor is not None else "system"


def _locked(dispute: Dispute) -> Dispute:
    """Return ``dispute`` re-read under a row lock (its state is current)."""
    return (
        Dispute.objects.select_for_update().select_related("bundle").get(pk=dispute.pk)
    )


def _require_state(dispute: Dispute, action: str, *allowed: str) -> None:
    if dispute.state not in allowed:
        raise DisputeStateInvalid(
            f"cannot {action} dispute {dispute.dispute_id}: it is "
            f"{dispute.state}, expected {' or '.join(allowed)}",
            field="state",
        )


def dispute_bundle_verify(*, bundle: Bundle, profile: str) -> dict[str, Any]:
    """Return the verification report (PROTOCOL.md §5.1, JSON: ``{ok,
    profile, checks, ...}``) of ``bundle`` as served now, verified by the one
    verifier (:class:`billing.protocol.verify.BundleVerifier`) against this
    server's trust anchors under ``profile`` (``standard`` or
    ``VDI_VERIFY_STRICT_V1``, with the revocation snapshot in force).

    A bundle whose log leaf is still queued is sequenced first
    (:func:`billing.services.bundles.bundle_get_sequenced`), so its log
    evidence can be checked; nothing else is written.

    Raises:
        ValueError: ``profile`` is not one of ``PROFILES``.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r} is not one of {PROFILES}")
    document = bundle_get_sequenced(receipt_id=bundle.receipt_id)
    options, _meta = verification_options_get(profile=profile)
    verifier = BundleVerifier(trust_anchors_get(), profile=profile, **options)
    return verifier.verify(document).to_json()


def dispute_open(
    *,
    tenant: Tenant,
    receipt_id: str,
    reason: str,
    evidence_text: str = "",
    evidence_files: Sequence[EvidenceFile] = (),
    now: datetime | None = None,
) -> Dispute:
    """Open a dispute of ``tenant``'s bundle ``receipt_id`` and return it
    (state ``needs_response``, ``evidence_due_by`` = now +
    ``MP_DISPUTE_EVIDENCE_DAYS`` days).

    The bundle's verification report under the standard profile is recorded
    (``verification``, ``verification_ok``); it runs before the dispute's
    transaction (reading the bundle may first sequence its queued log leaf).
    The dispute and its evidence files, pinned by their SHA-256, are stored
    in one transaction: on any error nothing is stored.

    Args:
        tenant: the authenticated tenant; only its own bundles can be
            disputed.
        receipt_id: the disputed bundle's receipt id.
        reason: a ``Dispute.Reason`` value (``duplicate``, ``wrong_tariff``,
            ``not_received``, ``other``).
        evidence_text: free text (at most 20,000 characters).
        evidence_files: at most 20 files.
        now: the clock (aware datetime; default ``timezone.now()``).

    Raises:
        BundleNotFound: (``bundle_not_found``, field ``receipt_id``) no
            such bundle, or one of another tenant.
        DisputeExists: (``dispute_exists``) the bundle has an open dispute.
        DisputeEvidenceInvalid / DisputeEvidenceHashMismatch: a malformed
            file, or content that does not hash to its ``sha256``.
        DisputeEvidenceLimit: more files or text than a dispute holds.
        django.core.exceptions.ValidationError: ``reason`` is not a reason
            code (``invalid_choice``, field ``reason``).
    """
    now = _now(now)
    evidence_files_check(evidence_files)
    evidence_limits_check(
        stored_files=0, stored_text="", files=len(evidence_files), text=evidence_text
    )
    bundle = Bundle.objects.filter(tenant=tenant, receipt_id=receipt_id).first()
    if bundle is None:
        raise BundleNotFound(
            f"no bundle {receipt_id} for this tenant", field="receipt_id"
        )
    dispute = Dispute(
        dispute_id="dp_" + secrets.token_hex(12),
        tenant=tenant,
        bundle=bundle,
        reason=reason,
        evidence_text=evidence_text,
        state=Dispute.State.NEEDS_RESPONSE,
        evidence_due_by=now + timedelta(days=billing_settings.dispute_evidence_days),
        opened_at=now,
        updated_at=now,
    )
    # Input first (a bad reason), then the verifier (the costly part).
    dispute.full_clean(
        exclude=["verification", "verification_ok"], validate_constraints=False
    )
    _refuse_if_open(bundle)
    # Outside the transaction: reading the bundle may sequence its queued log
    # leaf (the log's own group commit), which must not join ours.
    report = dispute_bundle_verify(bundle=bundle, profile=PROFILE_STANDARD)
    dispute.verification = report
    dispute.verification_ok = bool(report.get("ok"))
    with transaction.atomic():
        # The bundle row lock serialises two opens of one bundle
        # (PostgreSQL); the partial unique constraint is the backstop.
        Bundle.objects.select_for_update().filter(pk=bundle.pk).first()
        _refuse_if_open(bundle)
        try:
            with transaction.atomic():
                dispute.save()
        except IntegrityError:
            raise DisputeExists(
                f"bundle {receipt_id} already has an open dispute",
                field="receipt_id",
            ) from None
        evidence_files_store(dispute, evidence_files, now)
        _audit_dispute_action(dispute, "open", None, before=None)
    return dispute


def _refuse_if_open(bundle: Bundle) -> None:
    if Dispute.objects.filter(bundle=bundle, state__in=OPEN_STATES).exists():
        raise DisputeExists(
            f"bundle {bundle.receipt_id} already has an open dispute",
            field="receipt_id",
        )


@transaction.atomic
def dispute_evidence_add(
    *,
    dispute: Dispute,
    evidence_text: str = "",
    evidence_files: Sequence[EvidenceFile] = (),
    now: datetime | None = None,
) -> Dispute:
    """Add evidence text (appended after a blank line) and files to a
    dispute in ``needs_response`` before its ``evidence_due_by``; return the
    dispute as stored.

    Raises:
        DisputeStateInvalid: (``dispute_state_invalid``) not
            ``needs_response``.
        DisputeEvidenceOverdue: (``dispute_evidence_overdue``) after
            ``evidence_due_by``.
        DisputeEvidenceInvalid: nothing given, or a malformed file;
            DisputeEvidenceHashMismatch: content that does not hash to its
            ``sha256``.
        DisputeEvidenceLimit: the dispute would hold more than 20 files or
            20,000 characters of text.
    """
    now = _now(now)
    if not evidence_text and not evidence_files:
        raise DisputeEvidenceInvalid(
            "give evidence_text or evidence_files", field="evidence_text"
        )
    evidence_files_check(evidence_files)
    dispute = _locked(dispute)
    _require_state(dispute, "add evidence to", Dispute.State.NEEDS_RESPONSE)
    if now > dispute.evidence_due_by:
        raise DisputeEvidenceOverdue(
            f"evidence for dispute {dispute.dispute_id} was due by "
            f"{dispute.evidence_due_by.isoformat()}",
            field="evidence_due_by",
        )
    evidence_limits_check(
        stored_files=dispute.evidence_files.count(),
        stored_text=dispute.evidence_text,
        files=len(evidence_files),
        text=evidence_text,
    )
    before = _snapshot(dispute)
    if evidence_text:
        dispute.evidence_text = (
            f"{dispute.evidence_text}{EVIDENCE_TEXT_SEPARATOR}{evidence_text}"
            if dispute.evidence_text
            else evidence_text
        )
    dispute.updated_at = now
    dispute.save(update_fields=["evidence_text", "updated_at"])
    evidence_files_store(dispute, evidence_files, now)
    _audit_dispute_action(dispute, "evidence_add", None, before=before)
    return dispute


@transaction.atomic
def dispute_withdraw(*, dispute: Dispute, now: datetime | None = None) -> Dispute:
    """Withdraw an open dispute (tenant): ``needs_response`` or
    ``under_review`` → ``withdrawn``; return it.

    Raises:
        DisputeStateInvalid: (``dispute_state_invalid``) already closed.
    """
    now = _now(now)
    dispute = _locked(dispute)
    _require_state(dispute, "withdraw", *OPEN_STATES)
    before = _snapshot(dispute)
    dispute.state = Dispute.State.WITHDRAWN
    dispute.withdrawn_at = now
    dispute.updated_at = now
    dispute.save(update_fields=["state", "withdrawn_at", "updated_at"])
    _audit_dispute_action(dispute, "withdraw", None, before=before)
    return dispute


@transaction.atomic
def dispute_review_start(
    *, dispute: Dispute, actor: Any = None, now: datetime | None = None
) -> Dispute:
    """Start the staff review: ``needs_response`` → ``under_review``
    (the tenant can add no more evidence); return the dispute.

    Args:
        actor: the staff user (``request.user``), or ``None`` (system).

    Raises:
        DisputeStateInvalid: (``dispute_state_invalid``) not
            ``needs_response``.
    """
    now = _now(now)
    dispute = _locked(dispute)
    _require_state(dispute, "start the review of", Dispute.State.NEEDS_RESPONSE)
    before = _snapshot(dispute)
    dispute.state = Dispute.State.UNDER_REVIEW
    dispute.review_started_at = now
    dispute.updated_at = now
    dispute.save(update_fields=["state", "review_started_at", "updated_at"])
    _audit_dispute_action(dispute, "review_start", actor, before=before)
    return dispute


@transaction.atomic
def dispute_decide(
    *,
    dispute: Dispute,
    outcome: str,
    note: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> Dispute:
    """Decide a dispute under review: ``under_review`` → ``won`` (for the
    tenant: a credit note for what is left of the bundle's charge is issued
    in the same transaction) or ``lost`` (a note saying why is required);
    return the dispute.

    Args:
        outcome: ``"won"`` or ``"lost"``.
        note: the staff decision note (shown to the tenant).
        actor: the staff user (``request.user``), or ``None`` (system).

    Raises:
        DisputeDecisionInvalid: (``dispute_decision_invalid``) another
            outcome, or ``lost`` without a note.
        DisputeStateInvalid: (``dispute_state_invalid``) not
            ``under_review``.
    """
    now = _now(now)
    if outcome not in (Dispute.State.WON, Dispute.State.LOST):
        raise DisputeDecisionInvalid(
            f"outcome must be won or lost, found {outcome!r}", field="outcome"
        )
    note = note.strip()
    if outcome == Dispute.State.LOST and not note:
        raise DisputeDecisionInvalid(
            "a dispute decided lost needs a note saying why", field="note"
        )
    dispute = _locked(dispute)
    _require_state(dispute, f"decide ({outcome})", Dispute.State.UNDER_REVIEW)
    before = _snapshot(dispute)
    dispute.state = outcome
    dispute.decision_note = note
    dispute.decided_by = _actor_user(actor)
    dispute.decided_by_label = _actor_label(actor)
    dispute.decided_at = now
    dispute.updated_at = now
    if outcome == Dispute.State.WON:
        dispute.credit_note_id = _issue_credit_for_won_dispute(dispute, actor) or ""
    dispute.save(
        update_fields=[
            "state",
            "decision_note",
            "decided_by",
            "decided_by_label",
            "decided_at",
            "updated_at",
            "credit_note_id",
        ]
    )
    _audit_dispute_action(dispute, f"decide_{outcome}", actor, before=before)
    return dispute


def _snapshot(dispute: Dispute) -> dict[str, Any]:
    """Return the dispute's audited fields (the audit trail's before/after)."""
    return {
        "dispute_id": dispute.dispute_id,
        "receipt_id": dispute.bundle.receipt_id,
        "state": dispute.state,
        "evidence_files": dispute.evidence_files.count(),
        "evidence_text_chars": len(dispute.evidence_text),
        "decision_note": dispute.decision_note,
        "credit_note_id": dispute.credit_note_id,
    }


def _issue_credit_for_won_dispute(dispute: Dispute, actor: Any) -> str | None:
    """Issue the credit note of a dispute decided ``won``: what is left of
    the bundle's charge (after earlier credit notes), reason ``dispute``,
    issued at the decision's time (``dispute.decided_at``, so it nets into
    the original's period while that is open, else into the month of the
    decision); return its ``credit_note_id`` (``None`` when nothing is left
    to credit).

    Runs inside :func:`dispute_decide`'s transaction, after the state check,
    so a failing credit note rolls the decision back.
    """
    left = credit_note_remaining_minor(bundle=dispute.bundle)
    if left <= 0:
        return None
    note = credit_note_issue(
        bundle=dispute.bundle,
        amount_minor=-left,
        reason_code="dispute",
        reason_text=(
            f"dispute {dispute.dispute_id} won"
            + (f": {dispute.decision_note}" if dispute.decision_note else "")
        )[:MAX_REASON_TEXT_CHARS],
        actor=actor,
        now=dispute.decided_at,
    )
    return note.credit_note_id


def _audit_dispute_action(
    dispute: Dispute, action: str, actor: Any, *, before: dict[str, Any] | None
) -> None:
    """Record one dispute step in the staff audit trail
    (:func:`audittrail.services.audit_record`): action ``dispute.<step>``
    (``open``, ``evidence_add``, ``withdraw``, ``review_start``,
    ``decide_won``, ``decide_lost``), the actor (``None``: the tenant,
    through the API, recorded as ``tenant:<slug>``), the object
    (``dispute.dispute_id``) and before/after (:func:`_snapshot`, ``None``
    before ``open``).

    Runs inside the transition's transaction, so the record commits with it.
    """
    audit_record(
        actor=actor if actor is not None else f"tenant:{dispute.tenant.slug}",
        action=f"dispute.{action}",
        obj_type="dispute",
        obj_id=dispute.dispute_id,
        before=before,
        after=_snapshot(dispute),
    )
