"""Revocations (key IDs and attestations), published snapshots and feed fetches.

Revocation rows are written only by ``revocation.services``: adding creates a
row, lifting records ``lifted_at``/``lifted_by``/``lift_reason`` on it once
(never a delete, never an edit of the revocation itself). Published snapshots
and fetch records are append-only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Revocation(models.Model):
    """The fields every revocation row has: why, who and when it was revoked,
    and the lift, if any (abstract; no table of its own).

    ``*_by`` is the acting user (``NULL`` once the user is deleted, or for
    ``system``); ``*_by_label`` keeps the actor's username at the time. A
    lift is recorded once on the row, never by deleting it.
    """

    reason = models.TextField()
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_by_label = models.CharField(max_length=150)
    revoked_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lifted_by_label = models.CharField(max_length=150, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def state(self) -> str:
        """``"lifted"`` once lifted, else ``"in force"``."""
        return "lifted" if self.lifted_at else "in force"


class RevokedKey(Revocation):
    """A revoked key ID (RFC 7638 thumbprint), with who, why and when; and the
    lift, if any. At most one revocation in force per kid."""

    kid = models.CharField(max_length=128, db_index=True, help_text="RFC 7638 kid")
    # The only difference from the base's fields: a help text.
    revoked_by_label = models.CharField(
        max_length=150, help_text="actor's username at the time, or 'system'"
    )

    class Meta:
        verbose_name = "revoked key"
        ordering = ("-revoked_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["kid"],
                condition=Q(lifted_at__isnull=True),
                name="revocation_one_active_key_revocation",
                violation_error_code="already_revoked",
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=F("revoked_at")),
                name="revocation_key_lift_after_revoke",
            ),
        ]

    def __str__(self) -> str:
        return f"kid {self.kid} ({self.state})"


class RevokedAttestation(Revocation):
    """A revoked attestation, named by ``receipt_id`` or ``bundle_hash``
    (exactly one), with who, why and when; and the lift, if any."""

    receipt_id = models.CharField(max_length=128, blank=True, db_index=True)
    bundle_hash = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="SHA-256 hex of JCS of the bundle's signed attestation",
    )

    class Meta:
        verbose_name = "revoked attestation"
        ordering = ("-revoked_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=(Q(receipt_id="") & ~Q(bundle_hash=""))
                | (~Q(receipt_id="") & Q(bundle_hash="")),
                name="revocation_attestation_one_identifier",
                violation_error_code="revocation_input_invalid",
                violation_error_message="Give exactly one of receipt id or bundle hash.",
            ),
            models.UniqueConstraint(
                fields=["receipt_id"],
                condition=Q(lifted_at__isnull=True) & ~Q(receipt_id=""),
                name="revocation_one_active_receipt_revocation",
                violation_error_code="already_revoked",
            ),
            models.UniqueConstraint(
                fields=["bundle_hash"],
                condition=Q(lifted_at__isnull=True) & ~Q(bundle_hash=""),
                name="revocation_one_active_bundle_revocation",
                violation_error_code="already_revoked",
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=F("revoked_at")),
                name="revocation_attestation_lift_after_revoke",
            ),
        ]

    @property
    def identifier(self) -> str:
        """The receipt id or bundle hash listed in ``revokedAttestations``."""
        return self.receipt_id or self.bundle_hash

    def __str__(self) -> str:
        return f"attestation {self.identifier} ({self.state})"


class RevocationSnapshot(models.Model):
    """A snapshot this server published (append-only; never rewritten).

    ``document`` is the exact JSON text served at
    ``/.well-known/vdi-billing-revocation.json`` (``snapshot_sign`` output).
    """

    sequence = models.PositiveBigIntegerField(unique=True)
    snapshot_time = models.BigIntegerField(help_text="unix seconds")
    issuer_kid = models.CharField(max_length=128)
    document = models.TextField()
    kid_count = models.PositiveIntegerField(default=0)
    attestation_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "published revocation snapshot"
        ordering = ("-sequence",)

    def __str__(self) -> str:
        return f"revocation snapshot {self.sequence}"


class RevocationFetch(models.Model):
    """One poll of ``VDI_BILLING_REVOCATION_URL`` (append-only): the fetch log,
    the metric (count rows by ``outcome``/``code``) and, in ``accepted`` rows,
    the last good snapshot."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "accepted (new snapshot)"
        UNCHANGED = "unchanged", "unchanged (same snapshot)"
        REFUSED = "refused", "refused (bad feed)"
        UNREACHABLE = "unreachable", "unreachable (transport error)"

    url = models.CharField(max_length=2000)
    fetched_at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    snapshot_time = models.BigIntegerField(null=True, blank=True)
    document = models.TextField(blank=True, help_text="set on accepted rows")

    class Meta:
        verbose_name = "revocation feed fetch"
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["outcome", "-id"], name="revocation_fetch_outcome")
        ]

    def __str__(self) -> str:
        return f"fetch {self.pk} {self.outcome} {self.code}".strip()
