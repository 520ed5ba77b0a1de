"""Billing data: tenants, API keys, meter keys, tariffs, meter events, the replay
guard and bundles (credit notes: :mod:`billing.models_credit_notes`).

Invariants are enforced by the database (CONVENTIONS.md §2): one meter event and
one replay reservation per ``(tenant, event_id, window)``; one row per
``(tariff, version)`` and at most one *published* version of a tariff starting
at a given instant; money is integer minor units.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

# Re-exported (``__all__``): credit notes, disputes and statements live in their own
# modules (size limit) and are registered with the app's models when this
# module loads.
from billing.models_credit_notes import CreditNote
from billing.models_disputes import Dispute, DisputeEvidence
from billing.models_statements import Statement

__all__ = [
    "ApiKey",
    "BillingPeriod",
    "Bundle",
    "CreditNote",
    "Dispute",
    "DisputeEvidence",
    "MeterEvent",
    "MeterKey",
    "ReplayReservation",
    "Statement",
    "Subscription",
    "Tariff",
    "TariffVersion",
    "Tenant",
]


class Tenant(models.Model):
    """A customer billed through the API; ``slug`` is the event's ``tenant``."""

    slug = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200, blank=True)
    # The former ``tariff`` column stays in the database, nullable and unread,
    # until a later release drops it (0010_remove_tenant_tariff_state): the
    # tariffs of a tenant are its subscriptions.
    is_active = models.BooleanField(default=True)
    is_surrogate = models.BooleanField(
        default=False,
        help_text="Created by a backfill from a keyed hash of a client address.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """A tenant API key. The secret is shown once; only SHA-256 of the whole key
    is stored, found through its public ``prefix``."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.tenant})"


class MeterKey(models.Model):
    """A tenant gateway's Ed25519 meter public key (published as a trust anchor)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="meter_keys"
    )
    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint")
    public_key_b64url = models.CharField(max_length=64)
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"meter key {self.kid[:10]}… ({self.tenant})"


class Tariff(models.Model):
    """A priced product (``tariff_id``); its prices live in versions."""

    tariff_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=128)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tariff_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="tariff_currency_iso4217",
                violation_error_code="currency_invalid",
            ),
        ]

    def __str__(self) -> str:
        return self.tariff_id


class TariffVersion(models.Model):
    """One version of a tariff: a draft until published, then immutable.

    ``document`` is the DESIGN.md tariff JSON and ``tariff_hash`` its
    SHA-256(JCS) (both set when published). Any change is a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    tariff = models.ForeignKey(
        Tariff, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    pricing = models.JSONField(
        help_text='e.g. {"model": "per_unit", "unit_amount_decimal": "2"}'
    )
    rounding = models.CharField(
        max_length=16,
        default="half_up",
        choices=[(r, r) for r in ("half_up", "half_even", "up", "down")],
    )
    effective_from = models.DateTimeField()
    effective_to = models.DateTimeField(null=True, blank=True)
    document = models.JSONField(null=True, blank=True, editable=False)
    tariff_hash = models.CharField(
        max_length=64, blank=True, editable=False, db_index=True
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tariff__tariff_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "version"], name="tariffversion_unique_version"
            ),
            models.UniqueConstraint(
                fields=["tariff", "effective_from"],
                condition=Q(status="published"),
                name="tariffversion_one_published_per_start",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (
                    Q(status="published")
                    & ~Q(tariff_hash="")
                    & Q(published_at__isnull=False)
                    & Q(document__isnull=False)
                ),
                name="tariffversion_published_is_sealed",
                violation_error_code="tariff_not_sealed",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gt=F("effective_from")),
                name="tariffversion_window_ordered",
                violation_error_code="effective_window_invalid",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="tariffversion_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tariff.tariff_id} v{self.version} ({self.status})"


class Subscription(models.Model):
    """A tenant's subscription to a tariff from ``starts_at`` until ``ends_at``
    (exclusive; ``None``: open-ended).

    The tariff's ``metric`` is the subscription's metric: events of that
    metric that occurred in ``[starts_at, ends_at)`` are priced by the
    tariff's published version in force. Two subscriptions of one tenant to
    tariffs of the same metric never overlap in time (checked by
    ``billing.services.subscriptions`` under a row lock on the tenant; the
    database cannot say it portably). A tenant without any subscription is on
    the default plan (``MP_DEFAULT_TARIFF_ID``).
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="subscriptions"
    )
    tariff = models.ForeignKey(
        Tariff, on_delete=models.PROTECT, related_name="subscriptions"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Exclusive; empty = no end."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__slug", "starts_at", "tariff__tariff_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "tariff", "starts_at"],
                name="subscription_unique_start",
                violation_error_code="subscription_overlap",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="subscription_window_ordered",
                violation_error_code="subscription_window_invalid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} on {self.tariff}"


class MeterEvent(models.Model):
    """An attested meter event (exactly the signed event, plus bookkeeping)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="meter_events"
    )
    event_id = models.CharField(max_length=128)
    window = models.CharField(max_length=7)
    metric = models.CharField(max_length=128)
    quantity = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField()
    attributes = models.JSONField(default=dict)
    meter_kid = models.CharField(max_length=64)
    # SHA-256(JCS(event)), lowercase hex: the protocol's meter_hash. The
    # column keeps its first name so a previous release can keep serving.
    meter_hash = models.CharField(max_length=64, db_column="event_hash")
    backfilled = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_id", "window"],
                name="meterevent_unique_per_window",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "window"]),
            # The usage API (billing.selectors_usage): a range scan of one
            # tenant's metric by occurred_at; quantity is a key column so the
            # scan needs no heap visit on PostgreSQL (index-only scan).
            models.Index(
                fields=["tenant", "metric", "occurred_at", "quantity"],
                name="meterevent_usage_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant}/{self.window}/{self.event_id}"


class ReplayReservation(models.Model):
    """The crash-safe replay guard (DESIGN.md "Replay guard").

    ``reserved`` with ``expires_at`` before attesting; ``committed`` with
    ``committed_at`` in the same transaction as the bundle and the log leaf;
    deleted on a caught failure; an expired ``reserved`` row may be reclaimed.
    ``meter_hash`` is SHA-256(JCS(event)), lowercase hex (column
    ``request_hash``): the same event_id with another body is a conflict. ``holder`` tells whether the reserving attempt still lives
    before ``expires_at``: on PostgreSQL the key of a session-level advisory
    lock its database connection holds (released by the server when the
    worker dies), elsewhere its operating-system process id; ``None`` for
    rows written before the column existed (they wait for ``expires_at``).
    """

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        COMMITTED = "committed", "Committed"

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="reservations"
    )
    event_id = models.CharField(max_length=128)
    window = models.CharField(max_length=7)
    meter_hash = models.CharField(max_length=64, db_column="request_hash")
    token = models.UUIDField(default=uuid.uuid4)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RESERVED
    )
    expires_at = models.DateTimeField()
    holder = models.BigIntegerField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_id", "window"], name="replay_unique_per_window"
            ),
            models.CheckConstraint(
                condition=Q(status="reserved", committed_at__isnull=True)
                | Q(status="committed", committed_at__isnull=False),
                name="replay_committed_has_time",
                violation_error_code="replay_state_invalid",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.tenant}/{self.window}/{self.event_id} [{self.status}]"


class BillingPeriod(models.Model):
    """One tenant's billing period (a calendar month, ``YYYY-MM``).

    ``last_number`` is the highest ``vdi-billing/3`` sequence number issued
    in the period (0: none yet); attest takes a row lock on this row
    (``select_for_update``) to assign ``last_number + 1`` in its commit
    transaction, so numbers run 1, 2, 3, ... without gaps across metrics
    (docs/PROTOCOL.md §10). ``closed_at`` (RFC 3339 UTC) set: the period is
    closed and refuses new attests (``period_closed``); closing takes the
    same row lock.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="billing_periods"
    )
    period = models.CharField(max_length=7, help_text="YYYY-MM (an event window).")
    last_number = models.PositiveBigIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant__slug", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period"],
                name="billingperiod_unique_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        state = "closed" if self.closed_at is not None else "open"
        return f"{self.tenant}/{self.period} #{self.last_number} ({state})"


class Bundle(models.Model):
    """A signed bundle; ``document`` is its JSON as returned by attest.

    ``period``/``sequence_number``: the ``vdi-billing/3`` attestation's
    ``sequence`` (``""``/``None`` for ``vdi-billing/2`` bundles); unique per
    tenant where the number is set.
    """

    receipt_id = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="bundles")
    meter_event = models.OneToOneField(
        MeterEvent, on_delete=models.PROTECT, related_name="bundle"
    )
    tariff_version = models.ForeignKey(
        TariffVersion, on_delete=models.PROTECT, related_name="bundles"
    )
    leaf_hash = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        help_text="RFC 9162 leaf hash of the attestation (lowercase hex): links the "
        "bundle to its queued or sequenced log entry.",
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    fingerprint = models.CharField(max_length=64)
    document = models.TextField(
        help_text="The bundle as compact JSON; its log evidence is recomputed on "
        "read from the log (see billing.selectors.bundle_document)."
    )
    issued_at = models.DateTimeField()
    # db_default: rows the previous release inserts (without the column)
    # store "" on PostgreSQL and SQLite alike (CONVENTIONS §8).
    period = models.CharField(
        max_length=7,
        blank=True,
        default="",
        db_default="",
        help_text="vdi-billing/3: the sequence's period (YYYY-MM); empty for v2.",
    )
    sequence_number = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="vdi-billing/3: the number in the tenant's period (1..N); "
        "empty for v2.",
    )

    class ProofStatus(models.TextChoices):
        """Where the bundle's Groth16 ``billing_proof`` stands.

        ``none``: proving was off at attest time. ``embedded``: proved before
        signing, inside the signed attestation (sync). ``pending``: signed and
        logged without a proof, which is being made (parallel) or queued for a
        worker (async). ``attached``: the detached proof is stored
        (``billing_proof``). ``failed``: the
        worker gave up after ``VDI_BILLING_PROOF_MAX_ATTEMPTS`` (staff can
        retry from the admin).
        """

        NONE = "none", "none"
        EMBEDDED = "embedded", "embedded (signed)"
        PENDING = "pending", "pending"
        ATTACHED = "attached", "attached (detached)"
        FAILED = "failed", "failed"

    proof_status = models.CharField(
        max_length=10, choices=ProofStatus.choices, default=ProofStatus.NONE
    )
    billing_proof = models.TextField(
        null=True,
        blank=True,
        help_text="Detached Groth16 billing_proof (JSON) attached by the async "
        "prover; served at the bundle's top level, outside the signature.",
    )
    proof_attempts = models.PositiveSmallIntegerField(default=0)
    proof_error = models.CharField(max_length=500, blank=True, default="")
    proof_attached_at = models.DateTimeField(null=True, blank=True)
    proof_claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Async proving: a worker's claim on this bundle lasts until then.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "issued_at"]),
            # The tenant's bundle list (billing.selectors.bundle_page_list):
            # newest first by (issued_at, id), read backwards from a cursor.
            models.Index(
                fields=["tenant", "issued_at", "id"], name="bundle_tenant_list_idx"
            ),
            models.Index(
                fields=["issued_at"],
                condition=Q(proof_status="pending"),
                name="bundle_proof_pending_idx",
            ),
            # The usage API: the amount and currency of a meter event's bundle
            # straight from the index, never from the wide row (``document``).
            models.Index(
                fields=["meter_event", "amount_minor", "currency"],
                name="bundle_usage_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="bundle_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(proof_status="attached", billing_proof__isnull=False)
                | (~Q(proof_status="attached") & Q(billing_proof__isnull=True)),
                name="bundle_detached_proof_iff_attached",
            ),
            models.UniqueConstraint(
                fields=["tenant", "period", "sequence_number"],
                condition=Q(sequence_number__isnull=False),
                name="bundle_unique_sequence_number",
                violation_error_code="sequence_number_duplicate",
            ),
        ]

    def __str__(self) -> str:
        return self.receipt_id
