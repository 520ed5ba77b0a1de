"""Admin of the audit trail: view only (no add, change or delete), newest
first, filtered by action and object type; the page shows the chain head."""

from __future__ import annotations

from django.contrib import admin

from audittrail.models import AuditRecord
from kernel.admin_helpers import ReadOnlyAdmin, pretty_json, utc

__all__ = ["AuditRecordAdmin"]


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """Audit records: read-only; written only by
    :func:`audittrail.services.audit_record`."""

    list_display = ("seq", "when", "actor", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_id", "record_hash")
    ordering = ("-seq",)
    fields = (
        "seq",
        "at",
        "actor_user_id",
        "actor",
        "action",
        "object_type",
        "object_id",
        "before_pretty",
        "after_pretty",
        "prev_hash",
        "record_hash",
    )
    readonly_fields = fields
    actions = None

    @admin.display(description="at", ordering="seq")
    def when(self, obj: AuditRecord) -> str:
        """The record's time, to the minute (UTC)."""
        return utc(obj.at)

    @admin.display(description="before")
    def before_pretty(self, obj: AuditRecord) -> str:
        """``before``, indented."""
        return pretty_json(obj.before)

    @admin.display(description="after")
    def after_pretty(self, obj: AuditRecord) -> str:
        """``after``, indented."""
        return pretty_json(obj.after)
