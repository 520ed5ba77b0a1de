"""Statements in the admin: read-only rows (a statement is never edited
after it is issued) with the printable page, and the tenant action that
closes the previous month (:func:`billing.services.statements.statement_close`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.admin.shared import admin_link
from billing.models import Statement, Tenant
from billing.protocol.tariff import format_amount
from billing.selectors_statements import statement_file_get, statement_view_get
from billing.services.statements import statement_close
from kernel.admin_helpers import ReadOnlyAdmin, describe_error, pretty_json, utc
from kernel.protocol.errors import MeterproofError

__all__ = ["StatementAdmin", "previous_period", "tenants_close_previous_period"]


def previous_period(now: datetime) -> str:
    """Return the month before ``now``'s (UTC) as ``YYYY-MM``."""
    now = now.astimezone(UTC)
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    """Issued statements: amount, receipts, the signed JSON and a link to
    the printable page."""

    list_display = (
        "statement_id",
        "tenant",
        "period",
        "amount",
        "receipts_count",
        "closed",
        "printable",
    )
    list_filter = ("period", "currency")
    search_fields = ("=statement_id", "=tenant__slug", "=leaf_hash")
    list_select_related = ("tenant",)
    ordering = ("-closed_at", "-id")
    fields = (
        "statement_id",
        "tenant_link",
        "period",
        "amount",
        "receipts_count",
        "closed",
        "leaf_hash",
        "printable",
        "document_pretty",
    )
    readonly_fields = fields

    @admin.display(description="amount")
    def amount(self, obj: Statement) -> str:
        """The total in major units with its currency."""
        return format_amount(obj.amount_minor, obj.currency)

    @admin.display(description="closed (UTC)", ordering="closed_at")
    def closed(self, obj: Statement) -> str:
        """``closed_at`` in UTC."""
        return utc(obj.closed_at)

    @admin.display(description="tenant")
    def tenant_link(self, obj: Statement) -> str:
        """The tenant, linked to its admin page."""
        return admin_link(obj.tenant)

    @admin.display(description="printable")
    def printable(self, obj: Statement) -> str:
        """A link to the printable HTML page of the statement."""
        url = reverse("admin:billing_statement_html", args=[obj.pk])
        return format_html('<a href="{}">HTML</a>', url)

    @admin.display(description="statement file (JSON)")
    def document_pretty(self, obj: Statement) -> str:
        """The statement file with its current log evidence."""
        return pretty_json(statement_file_get(statement=obj))

    def get_urls(self) -> list[URLPattern]:
        """Add ``<pk>/html/``: the printable page (staff with view rights)."""
        view = self.admin_site.admin_view(self.html_view)
        return [
            path("<int:pk>/html/", view, name="billing_statement_html"),
            *super().get_urls(),
        ]

    def html_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Render ``billing/statement.html`` for statement ``pk``."""
        statement = self.get_object(request, str(pk))
        if statement is None or not self.has_view_permission(request, statement):
            return HttpResponse(status=404)
        return TemplateResponse(
            request,
            "billing/statement.html",
            statement_view_get(statement=statement),
        )


@admin.action(description="Close the previous month's period", permissions=["change"])
def tenants_close_previous_period(
    modeladmin: admin.ModelAdmin[Tenant],
    request: HttpRequest,
    queryset: QuerySet[Tenant],
) -> None:
    """Close last month (UTC) for each selected tenant and issue its
    statement; a refusal (already closed, mixed currencies ...) is shown
    per tenant and changes nothing for it."""
    period = previous_period(timezone.now())
    for tenant in queryset.order_by("slug"):
        try:
            statement = statement_close(
                tenant=tenant, period=period, actor=request.user
            )
        except MeterproofError as exc:
            modeladmin.message_user(
                request, f"{tenant.slug}: {describe_error(exc)}", level=messages.ERROR
            )
            continue
        modeladmin.message_user(
            request,
            f"{tenant.slug}: closed {period}, statement {statement.statement_id} "
            f"({format_amount(statement.amount_minor, statement.currency)})",
        )
