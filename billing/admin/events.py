"""Admin of attested data, all read-only: meter events (exactly what the
meter signed), the replay guard's reservations, and signed bundles.

The actions: retrying failed Groth16 proofs calls ``billing_proofs_retry``
(it changes no signed data); issuing a credit note for one bundle asks for
the amount and reason, then calls ``credit_note_issue``
(:mod:`billing.admin.credit_notes`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from billing.admin.credit_notes import (
    credit_note_issue_action,
    credit_notes_of_bundle,
)
from billing.admin.shared import admin_link
from billing.models import Bundle, MeterEvent, ReplayReservation
from billing.protocol.tariff import format_amount
from billing.selectors import bundle_documents, bundle_get, bundle_revocation_check
from billing.services.proofs import billing_proofs_retry
from kernel.admin_helpers import ReadOnlyAdmin, describe_error, pretty_json, utc
from transparency.models import LogEntry

__all__ = ["BundleAdmin", "MeterEventAdmin", "ReplayReservationAdmin"]


@admin.register(MeterEvent)
class MeterEventAdmin(ReadOnlyAdmin):
    """Attested meter events (exactly what the meter signed)."""

    list_display = (
        "event_id",
        "tenant",
        "window",
        "metric",
        "quantity",
        "occurred_at",
        "backfilled",
        "receipt",
    )
    list_filter = ("window", "backfilled", "metric")
    search_fields = ("event_id", "=tenant__slug", "=meter_hash", "=bundle__receipt_id")
    list_select_related = ("tenant", "bundle")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    fields = (
        "tenant",
        "event_id",
        "window",
        "metric",
        "quantity",
        "occurred_at",
        "attributes_pretty",
        "meter_kid",
        "meter_hash",
        "backfilled",
        "received_at",
        "receipt",
    )
    readonly_fields = fields

    @admin.display(description="receipt")
    def receipt(self, obj: MeterEvent) -> str:
        """Link to the event's bundle."""
        bundle = Bundle.objects.filter(meter_event=obj).first()
        return admin_link(bundle)

    @admin.display(description="attributes")
    def attributes_pretty(self, obj: MeterEvent) -> str:
        """The event's attributes, indented."""
        return pretty_json(obj.attributes)


@admin.register(ReplayReservation)
class ReplayReservationAdmin(ReadOnlyAdmin):
    """The replay guard's reservations (reserved / committed)."""

    list_display = (
        "event_id",
        "tenant",
        "window",
        "status",
        "expires_at",
        "committed_at",
        "created_at",
    )
    list_filter = ("status", "window")
    search_fields = ("event_id", "=tenant__slug", "=meter_hash")
    list_select_related = ("tenant",)
    ordering = ("-created_at",)


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdmin):
    """Signed bundles: receipt, amount, and the exact bundle JSON."""

    list_display = (
        "receipt_id",
        "tenant",
        "event_id",
        "amount",
        "leaf",
        "proof_status",
        "issued",
    )
    list_filter = ("proof_status", "meter_event__window", "currency", "tariff_version")
    actions = ("retry_proofs", credit_note_issue_action)
    search_fields = (
        "=receipt_id",
        "=tenant__slug",
        "meter_event__event_id",
        "=leaf_hash",
        "=fingerprint",
    )
    list_select_related = (
        "tenant",
        "meter_event",
        "tariff_version__tariff",
    )
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-id")
    fields = (
        "receipt_id",
        "tenant_link",
        "amount",
        "meter_event_link",
        "tariff_version_link",
        "leaf",
        "leaf_hash",
        "fingerprint",
        "issued_at",
        "proof_status",
        "proof_attempts",
        "proof_error",
        "proof_attached_at",
        "revocation",
        "credit_notes",
        "document_pretty",
    )
    readonly_fields = fields

    @admin.display(description="credit notes")
    def credit_notes(self, obj: Bundle) -> str:
        """The bundle's credit notes and its net (``credit_notes_of_bundle``);
        issue one with the action "Issue a credit note"."""
        return credit_notes_of_bundle(obj)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Retrying proofs needs the view permission on bundles plus staff
        status (it changes no signed data, only re-queues proving)."""
        return bool(request.user.is_staff) and request.user.has_perm(
            "billing.view_bundle"
        )

    def has_credit_permission(self, request: HttpRequest) -> bool:
        """Issuing a credit note needs staff status and the permission to
        add credit notes (the credit-note admin itself stays read-only)."""
        return bool(request.user.is_staff) and request.user.has_perm(
            "billing.add_creditnote"
        )

    @admin.action(
        description="Retry failed Groth16 proofs (async proving)",
        permissions=["retry"],
    )
    def retry_proofs(self, request: HttpRequest, queryset: QuerySet[Bundle]) -> None:
        """Reset the selected ``failed`` bundles to ``pending`` and queue them
        (``billing_proofs_retry``); other bundles are left unchanged."""
        ids = list(
            queryset.filter(proof_status=Bundle.ProofStatus.FAILED).values_list(
                "receipt_id", flat=True
            )
        )
        reset = billing_proofs_retry(receipt_ids=ids) if ids else 0
        skipped = queryset.count() - reset
        if reset:
            self.message_user(request, f"Queued {reset} bundle(s) for proving again.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} bundle(s) were not in the failed state, left unchanged.",
                messages.INFO,
            )

    @admin.display(description="issued (UTC)", ordering="issued_at")
    def issued(self, obj: Bundle) -> str:
        """Issue time, compact UTC."""
        return utc(obj.issued_at)

    @admin.display(description="window", ordering="meter_event__window")
    def window(self, obj: Bundle) -> str:
        """The billing window (``YYYY-MM``)."""
        return obj.meter_event.window

    @admin.display(description="event_id", ordering="meter_event__event_id")
    def event_id(self, obj: Bundle) -> str:
        """The meter event's id."""
        return obj.meter_event.event_id

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj: Bundle) -> str:
        """The charge in major units with its currency (``format_amount``)."""
        return format_amount(obj.amount_minor, obj.currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bundle]:
        """Annotate each bundle with its leaf index (``None`` while queued)."""
        return (
            super()
            .get_queryset(request)
            .annotate(
                leaf_index=Subquery(
                    LogEntry.objects.filter(leaf_hash=OuterRef("leaf_hash")).values(
                        "leaf_index"
                    )[:1]
                )
            )
        )

    @admin.display(description="log leaf", ordering="leaf_index")
    def leaf(self, obj: Bundle) -> str:
        """Link to the bundle's transparency-log leaf ("queued" until sequenced)."""
        index = getattr(obj, "leaf_index", None)
        if index is None:
            return "queued"
        entry = LogEntry(leaf_index=index)
        return admin_link(entry, f"#{index}")

    @admin.display(description="tenant")
    def tenant_link(self, obj: Bundle) -> str:
        """Link to the tenant."""
        return admin_link(obj.tenant)

    @admin.display(description="meter event")
    def meter_event_link(self, obj: Bundle) -> str:
        """Link to the attested meter event."""
        return admin_link(obj.meter_event)

    @admin.display(description="tariff version")
    def tariff_version_link(self, obj: Bundle) -> str:
        """Link to the tariff version that priced the event."""
        return admin_link(obj.tariff_version)

    @admin.display(description="revocation")
    def revocation(self, obj: Bundle) -> str:
        """Whether the bundle or a key that signed it is revoked: the strict
        profile's ``not_revoked`` check against the snapshot in force
        (``bundle_revocation_check``)."""
        try:
            check = bundle_revocation_check(
                bundle_json=bundle_get(receipt_id=obj.receipt_id)
            )
        except Exception as exc:  # shown, never a 500
            return f"revocation not checked: {describe_error(exc)}"
        if check.status == "pass":
            return "✓ not revoked (attestation and keys absent from the revocation snapshot)"
        if check.status == "fail":
            return f"✗ REVOKED ({check.code}): {check.message}"
        return f"{check.message} ({check.code})"

    @admin.display(description="bundle JSON")
    def document_pretty(self, obj: Bundle) -> str:
        """The bundle JSON with its current log evidence, indented for reading."""
        return pretty_json(
            bundle_documents([(obj.document, obj.leaf_hash, obj.billing_proof)])[0]
        )
