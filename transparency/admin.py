"""Django admin for the transparency log: entries, checkpoints and the head.

All of it is append-only and written by ``transparency.services.log_append``,
so every page is view-only. ``LogNode`` (internal subtree hashes) is not
registered.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from transparency.models import Checkpoint, LogEntry, LogState

# Wraps long JSON, hashes and signatures instead of letting them overflow.
_PRE_STYLE = (
    "white-space: pre-wrap; word-break: break-all; max-width: 60rem; "
    "margin: 0; padding: 8px; font-size: 12px; background: var(--darkened-bg);"
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A view-only admin for rows written only by services (the append-only
    log here; meter events, bundles and reservations in billing)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No adding from the admin."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No changes from the admin."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No deleting from the admin."""
        return False


# A signed note is shown exactly: its lines never wrap (the box scrolls).
_NOTE_STYLE = (
    "white-space: pre; overflow-x: auto; max-width: 60rem; margin: 0; "
    "padding: 8px; font-size: 12px; background: var(--darkened-bg);"
)


def _pre(text: str, style: str = _PRE_STYLE) -> str:
    return format_html('<pre style="{}">{}</pre>', style, text)


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    """Log leaves: ``leaf_index``, ``leaf_hash`` and the attestation they hold."""

    list_display = ("leaf_index", "leaf_hash", "receipt", "created_at")
    search_fields = ("=leaf_hash", "=bundle__receipt_id", "=bundle__tenant__slug")
    ordering = ("-leaf_index",)
    date_hierarchy = "created_at"
    fields = ("leaf_index", "leaf_hash", "receipt", "created_at", "data_pretty")
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        """Join the bundle (a billing row) that each leaf attests."""
        return super().get_queryset(request).select_related("bundle")

    @admin.display(description="receipt")
    def receipt(self, obj: LogEntry) -> str:
        """Link to the bundle whose attestation this leaf holds, if any."""
        try:
            bundle = obj.bundle  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "-"
        meta = bundle._meta
        try:
            url = reverse(
                f"admin:{meta.app_label}_{meta.model_name}_change", args=[bundle.pk]
            )
        except NoReverseMatch:
            return str(bundle)
        return format_html('<a href="{}">{}</a>', url, bundle)

    @admin.display(description="data (attestation JSON)")
    def data_pretty(self, obj: LogEntry) -> str:
        """The leaf data, indented when it is JSON (stored as RFC 8785 JCS)."""
        try:
            return _pre(json.dumps(json.loads(obj.data), indent=2, ensure_ascii=False))
        except ValueError:
            return _pre(obj.data)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    """Signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note)."""

    list_display = ("tree_size", "origin", "root_hash", "signed_at")
    list_filter = ("origin",)
    search_fields = ("=root_hash", "origin")
    date_hierarchy = "signed_at"
    fields = ("origin", "tree_size", "root_hash", "signed_at", "signed_note")
    readonly_fields = fields

    @admin.display(description="signed note")
    def signed_note(self, obj: Checkpoint) -> str:
        """The exact signed note text (body, blank line, signature lines)."""
        return _pre(obj.note, _NOTE_STYLE)


@admin.register(LogState)
class LogStateAdmin(ReadOnlyAdmin):
    """The log head: current ``tree_size`` and ``root_hash``."""

    list_display = ("tree_size", "root_hash", "updated_at")
    fields = ("tree_size", "root_hash", "updated_at", "latest_checkpoint")
    readonly_fields = fields

    @admin.display(description="latest checkpoint")
    def latest_checkpoint(self, obj: LogState) -> str:
        """Link to the newest checkpoint signed at this tree size."""
        row = Checkpoint.objects.filter(tree_size=obj.tree_size).order_by("-id").first()
        if row is None:
            return "-"
        url = reverse("admin:transparency_checkpoint_change", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, row)
