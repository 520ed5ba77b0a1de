"""Django admin for the transparency log: entries, checkpoints and the head.

All of it is append-only and written by ``transparency.services``
(``log_enqueue``, ``log_integrate``), so every page is view-only.
``LogNode`` (internal subtree hashes) is not registered.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from kernel.admin_helpers import ReadOnlyAdmin
from transparency.models import (
    Checkpoint,
    Cosignature,
    LogEntry,
    LogState,
    MonitorAlert,
    MonitorState,
)
from transparency.services.monitor import monitor_alerts_acknowledge

# Wraps long JSON, hashes and signatures instead of letting them overflow.
_PRE_STYLE = (
    "white-space: pre-wrap; word-break: break-all; max-width: 60rem; "
    "margin: 0; padding: 8px; font-size: 12px; background: var(--darkened-bg);"
)


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
    search_fields = ("=leaf_hash",)
    ordering = ("-leaf_index",)
    date_hierarchy = "created_at"
    fields = ("leaf_index", "leaf_hash", "receipt", "created_at", "data_pretty")
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="receipt")
    def receipt(self, obj: LogEntry) -> str:
        """The receipt id the logged attestation names, linked to its bundle
        search (the log itself knows nothing of billing rows); for a logged
        period statement, its ``statement_id``."""
        try:
            data = json.loads(obj.data)
            if isinstance(data, dict) and "statement_id" in data:
                return f"statement {data['statement_id']}"
            receipt_id = data["receipt"]["receipt_id"]
        except (ValueError, KeyError, TypeError):
            return "-"
        try:
            url = reverse("admin:billing_bundle_changelist")
        except NoReverseMatch:
            return str(receipt_id)
        return format_html('<a href="{}?q={}">{}</a>', url, receipt_id, receipt_id)

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


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    """Witness cosignatures (C2SP tlog-cosignature) stored on checkpoints."""

    list_display = ("checkpoint", "name", "key_id", "timestamp", "received_at")
    list_filter = ("name",)
    list_select_related = ("checkpoint",)
    fields = ("checkpoint", "name", "key_id", "timestamp", "received_at", "line")
    readonly_fields = fields


@admin.register(MonitorState)
class MonitorStateAdmin(ReadOnlyAdmin):
    """What the log monitor last verified, and its counters (the metric)."""

    list_display = (
        "log",
        "tree_size",
        "last_run_at",
        "last_ok_at",
        "runs_total",
        "alerts_total",
    )
    fields = (
        "log",
        "tree_size",
        "root_hash",
        "frontier",
        "last_run_at",
        "last_ok_at",
        "runs_total",
        "alerts_total",
    )
    readonly_fields = fields


@admin.register(MonitorAlert)
class MonitorAlertAdmin(ReadOnlyAdmin):
    """Problems the monitor found; staff acknowledge them with an action."""

    list_display = (
        "created_at",
        "code",
        "log",
        "verified_tree_size",
        "checkpoint_tree_size",
        "acknowledged_at",
        "acknowledged_by",
    )
    list_filter = ("code", ("acknowledged_at", admin.EmptyFieldListFilter))
    fields = (
        "created_at",
        "log",
        "code",
        "message",
        "verified_tree_size",
        "checkpoint_tree_size",
        "acknowledged_at",
        "acknowledged_by",
    )
    readonly_fields = fields
    actions = ["acknowledge"]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        """Staff who may change alerts (superusers) may acknowledge them."""
        return bool(request.user.has_perm("transparency.change_monitoralert"))

    @admin.action(
        description="Acknowledge selected alerts", permissions=["acknowledge"]
    )
    def acknowledge(self, request: HttpRequest, queryset: Any) -> None:
        """Acknowledge the selected alerts (``monitor_alerts_acknowledge``)."""
        count = monitor_alerts_acknowledge(
            alert_ids=list(queryset.values_list("pk", flat=True)), user=request.user
        )
        self.message_user(request, f"{count} alert(s) acknowledged.")
