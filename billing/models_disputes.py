"""Disputes: a tenant contests one of its bundles (issue 12, "Disputes").

Split from :mod:`billing.models` by purpose (CONVENTIONS.md §1); the models
are imported there, so Django registers them with the ``billing`` app. The
foreign keys name their targets as strings (``"billing.Bundle"``) so this
module never imports :mod:`billing.models` (no import cycle).

States follow Stripe's disputes: ``needs_response`` (the tenant may add
evidence until ``evidence_due_by``) → ``under_review`` (staff) → ``won`` |
``lost``; the tenant may ``withdraw`` an open dispute. The transitions are
enforced by :mod:`billing.services.disputes`; the database keeps at most one
open dispute per bundle and the timestamps consistent with the state.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["OPEN_STATES", "Dispute", "DisputeEvidence"]


class Dispute(models.Model):
    """A tenant's dispute of one bundle's charge.

    ``verification`` is the bundle's verification report (PROTOCOL.md §5.1,
    standard profile, the one verifier) taken when the dispute opened, and
    ``verification_ok`` its verdict. ``decision_note`` / ``decided_by`` /
    ``decided_at`` record the staff decision; ``credit_note_id`` the credit
    note a ``won`` decision issued (empty until credit notes land, or when
    nothing was left to credit).
    """

    class State(models.TextChoices):
        """Stripe's dispute states, plus ``withdrawn`` by the tenant."""

        NEEDS_RESPONSE = "needs_response", "needs response"
        UNDER_REVIEW = "under_review", "under review"
        WON = "won", "won"
        LOST = "lost", "lost"
        WITHDRAWN = "withdrawn", "withdrawn"

    class Reason(models.TextChoices):
        """Why the tenant disputes the charge."""

        DUPLICATE = "duplicate", "duplicate"
        WRONG_TARIFF = "wrong_tariff", "wrong tariff"
        NOT_RECEIVED = "not_received", "not received"
        OTHER = "other", "other"

    dispute_id = models.CharField(
        max_length=27, unique=True, help_text='"dp_" + 24 lowercase hex'
    )
    tenant = models.ForeignKey(
        "billing.Tenant", on_delete=models.PROTECT, related_name="disputes"
    )
    bundle = models.ForeignKey(
        "billing.Bundle", on_delete=models.PROTECT, related_name="disputes"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    evidence_text = models.TextField(blank=True, default="")
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.NEEDS_RESPONSE
    )
    evidence_due_by = models.DateTimeField(
        help_text="Opened + MP_DISPUTE_EVIDENCE_DAYS; evidence is refused after."
    )
    verification = models.JSONField(
        help_text="The bundle's verification report when the dispute opened."
    )
    verification_ok = models.BooleanField()
    decision_note = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by_label = models.CharField(
        max_length=150, blank=True, default="", help_text="staff username then"
    )
    credit_note_id = models.CharField(max_length=64, blank=True, default="")
    opened_at = models.DateTimeField()
    review_started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["evidence_due_by", "id"]
        indexes = [
            # The tenant's list, newest first by (opened_at, id).
            models.Index(
                fields=["tenant", "opened_at", "id"], name="dispute_tenant_list_idx"
            ),
            # The staff queue: open disputes by due date.
            models.Index(fields=["state", "evidence_due_by"], name="dispute_queue_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle"],
                condition=Q(state__in=["needs_response", "under_review"]),
                name="dispute_one_open_per_bundle",
                violation_error_code="dispute_exists",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["needs_response", "under_review"])
                | Q(state__in=["won", "lost"], decided_at__isnull=False)
                | Q(state="withdrawn", withdrawn_at__isnull=False),
                name="dispute_closed_has_time",
                violation_error_code="dispute_state_invalid",
            ),
        ]

    def __str__(self) -> str:
        return self.dispute_id


#: The states in which a dispute is open (at most one per bundle).
OPEN_STATES = (Dispute.State.NEEDS_RESPONSE, Dispute.State.UNDER_REVIEW)


class DisputeEvidence(models.Model):
    """One evidence file of a dispute, pinned by its SHA-256.

    ``sha256`` is the lowercase hex SHA-256 of ``content`` (checked against
    the tenant's stated digest before it is stored); ``size_bytes`` is
    ``len(content)``. Evidence is never edited or deleted.
    """

    dispute = models.ForeignKey(
        Dispute, on_delete=models.PROTECT, related_name="evidence_files"
    )
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    content = models.BinaryField()
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name_plural = "dispute evidence"

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]}…)"
