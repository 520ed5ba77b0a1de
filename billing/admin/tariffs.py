"""Admin of tariffs and their versions.

Tariffs are created through ``tariff_create`` and read-only after. Draft
versions are created, edited and published through ``tariff_version_create``,
``tariff_version_update`` and ``tariff_version_publish``; a published version
is immutable (view only, never deleted). Each version's page previews its
charges (``price_breakdown``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing.admin.shared import (
    PrettyJSONField,
    ReadOnlyInline,
    admin_link,
    form_field_for,
)
from billing.models import Tariff, TariffVersion
from billing.protocol.tariff import TariffDocument, format_amount, price_breakdown
from billing.services.tariffs import (
    tariff_create,
    tariff_document,
    tariff_version_create,
    tariff_version_new_from,
    tariff_version_publish,
    tariff_version_update,
)
from kernel.admin_helpers import ServiceErrorsMixin, describe_error, pretty_json
from kernel.protocol.errors import MeterproofError

__all__ = [
    "PREVIEW_QUANTITIES",
    "TariffAdmin",
    "TariffVersionAdmin",
    "TariffVersionForm",
    "TariffVersionInline",
]

#: Quantities shown in a tariff version's price preview.
PREVIEW_QUANTITIES = (1, 10, 100, 1000)


class TariffVersionInline(ReadOnlyInline):
    """A tariff's versions, newest first, linking to each version."""

    model = TariffVersion
    fields = ("version", "status", "effective_from", "effective_to", "tariff_hash")
    readonly_fields = fields
    ordering = ("-version",)


@admin.register(Tariff)
class TariffAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    """Tariffs (products). Created through ``tariff_create``; read-only after,
    because published versions embed ``tariff_id``, metric and currency."""

    list_display = (
        "tariff_id",
        "name",
        "metric",
        "currency",
        "version_summary",
        "created_at",
    )
    search_fields = ("tariff_id", "name", "metric")
    list_filter = ("currency", "metric")
    fields = ("tariff_id", "name", "metric", "currency")
    inlines = (TariffVersionInline,)

    def get_inlines(self, request: HttpRequest, obj: Tariff | None = None) -> tuple:
        """Versions are listed once the tariff exists."""
        return self.inlines if obj is not None else ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tariff]:
        """Annotate version counts."""
        return super().get_queryset(request).annotate(_versions=Count("versions"))

    @admin.display(description="versions", ordering="_versions")
    def version_summary(self, obj: Tariff) -> str:
        """Number of versions, linked to the filtered version list."""
        url = (
            reverse("admin:billing_tariffversion_changelist")
            + f"?tariff__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._versions)  # type: ignore[attr-defined]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        """Add: the tariff's fields. View: those and a new-version link."""
        return self.fields if obj is None else (*self.fields, "add_version_link")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        """Everything is fixed after creation."""
        return () if obj is None else (*self.fields, "add_version_link")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No ``tariff_update`` service: an existing tariff is view-only."""
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tariffs are never deleted (bundles refer to their versions)."""
        return False

    def save_model(
        self, request: HttpRequest, obj: Tariff, form: forms.ModelForm, change: bool
    ) -> None:
        """Create through ``tariff_create``."""
        created = tariff_create(
            tariff_id=form.cleaned_data["tariff_id"],
            metric=form.cleaned_data["metric"],
            currency=form.cleaned_data["currency"],
            name=form.cleaned_data.get("name", ""),
            actor=request.user,
        )
        obj.pk, obj.created_at = created.pk, created.created_at

    @admin.display(description="new version")
    def add_version_link(self, obj: Tariff) -> str:
        """Link to the add form of a draft version of this tariff."""
        url = reverse("admin:billing_tariffversion_add") + f"?tariff={obj.pk}"
        return format_html('<a class="addlink" href="{}">add a draft version</a>', url)


class TariffVersionForm(forms.ModelForm):
    """A draft's editable fields, checked as a tariff document before saving."""

    pricing = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 70}),
        help_text='e.g. {"model": "per_unit", "unit_amount_decimal": "2"} '
        "(unit_amount_decimal in minor units: cents for USD)",
    )

    class Meta:
        model = TariffVersion
        fields = ("tariff", "pricing", "rounding", "effective_from", "effective_to")

    def clean(self) -> dict[str, Any]:
        """Build the tariff document the service would build; report its
        ``TariffError`` on the offending field."""
        data = super().clean()
        tariff = data.get("tariff") or getattr(self.instance, "tariff", None)
        if tariff is None or self.errors:
            return data
        candidate = TariffVersion(
            tariff=tariff,
            version=self.instance.version or 1,
            pricing=data.get("pricing"),
            rounding=data.get("rounding") or "half_up",
            effective_from=data.get("effective_from"),
            effective_to=data.get("effective_to"),
        )
        if candidate.effective_from is None:
            return data
        try:
            tariff_document(candidate)
        except MeterproofError as exc:
            self.add_error(form_field_for(self, exc.field), describe_error(exc))
        return data


@admin.register(TariffVersion)
class TariffVersionAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    """Tariff versions: drafts are edited and published here; published
    versions are immutable (view only, never deleted)."""

    form = TariffVersionForm
    list_display = (
        "__str__",
        "tariff",
        "version",
        "status",
        "effective_from",
        "effective_to",
        "short_hash",
        "published_at",
    )
    list_display_links = ("__str__",)
    list_filter = ("status", "tariff", "rounding")
    search_fields = ("tariff__tariff_id", "tariff_hash")
    list_select_related = ("tariff",)
    actions = ("publish_drafts", "new_draft_from")
    ordering = ("tariff__tariff_id", "-version")

    @admin.display(description="tariff_hash", ordering="tariff_hash")
    def short_hash(self, obj: TariffVersion) -> str:
        """First 16 hex digits of ``tariff_hash`` (full value on the page)."""
        return f"{obj.tariff_hash[:16]}…" if obj.tariff_hash else "-"

    @admin.display(description="document (published JSON)")
    def document_pretty(self, obj: TariffVersion) -> str:
        """The sealed tariff document, indented; a draft's would-be document."""
        if obj.document is not None:
            return pretty_json(obj.document)
        if obj.pk is None:
            return "-"
        try:
            return format_html(
                "<p>Draft; published as:</p>{}", pretty_json(tariff_document(obj))
            )
        except MeterproofError as exc:
            return format_html("<p class='errornote'>{}</p>", describe_error(exc))

    @admin.display(description="price preview")
    def price_preview(self, obj: TariffVersion) -> str:
        """``price_breakdown`` at 1, 10, 100 and 1000 units (minor-unit
        decimals and the rounded amount via ``format_amount``)."""
        if obj.pk is None:
            return "-"
        try:
            doc = TariffDocument.from_json(obj.document or tariff_document(obj))
            rows = [price_breakdown(doc, q) for q in PREVIEW_QUANTITIES]
        except MeterproofError as exc:
            return format_html("<p class='errornote'>{}</p>", describe_error(exc))
        body = format_html_join(
            "",
            "<tr><td style='text-align:right'>{}</td><td style='text-align:right'>"
            "{}</td><td style='text-align:right'><strong>{}</strong></td>"
            "<td>{}</td></tr>",
            (
                (
                    row["quantity"],
                    row["total_decimal"],
                    format_amount(row["amount_minor"], row["currency"]),
                    "; ".join(
                        f"{line['quantity']} × {line['unit_amount_decimal']}"
                        + (
                            f" + flat {line['flat_amount']}"
                            if line.get("flat_amount")
                            else ""
                        )
                        + f" = {line['amount_decimal']}"
                        for line in row["lines"]
                    ),
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>quantity</th><th>exact total (minor units)</th>"
            "<th>charge</th><th>lines (units × unit price = minor units)</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            body,
        )

    def get_fields(
        self, request: HttpRequest, obj: TariffVersion | None = None
    ) -> list[str]:
        """Add: the draft fields. Change/view: everything plus the preview."""
        if obj is None:
            return ["tariff", "pricing", "rounding", "effective_from", "effective_to"]
        return [
            "tariff",
            "version",
            "status",
            "pricing",
            "rounding",
            "effective_from",
            "effective_to",
            "tariff_hash",
            "published_at",
            "document_pretty",
            "price_preview",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """A draft edits pricing, rounding and window; a published version
        nothing at all."""
        if obj is None:
            return []
        fixed = [
            "tariff",
            "version",
            "status",
            "tariff_hash",
            "published_at",
            "document_pretty",
            "price_preview",
        ]
        if obj.status == TariffVersion.Status.PUBLISHED:
            return self.get_fields(request, obj)
        return fixed

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A published version is immutable: its page is a view page."""
        if obj is not None and obj.status == TariffVersion.Status.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Versions are never deleted (no service; bundles refer to them)."""
        return False

    def save_model(
        self,
        request: HttpRequest,
        obj: TariffVersion,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        """Create through ``tariff_version_create``; edit a draft through
        ``tariff_version_update`` (only the changed fields)."""
        data = form.cleaned_data
        if not change:
            created = tariff_version_create(
                tariff=data["tariff"],
                pricing=data["pricing"],
                effective_from=data["effective_from"],
                effective_to=data.get("effective_to"),
                rounding=data.get("rounding") or "half_up",
                actor=request.user,
            )
            obj.pk, obj.version, obj.created_at = (
                created.pk,
                created.version,
                created.created_at,
            )
            return
        editable = ("pricing", "rounding", "effective_from", "effective_to")
        changes = {f: data[f] for f in editable if f in form.changed_data}
        if changes:
            tariff_version_update(obj, actor=request.user, **changes)

    @admin.action(description="Publish selected drafts", permissions=["change"])
    def publish_drafts(
        self, request: HttpRequest, queryset: QuerySet[TariffVersion]
    ) -> None:
        """Publish each selected draft (``tariff_version_publish``); report
        each failure with its code."""
        published = []
        for version in queryset.select_related("tariff").order_by(
            "tariff__tariff_id", "version"
        ):
            try:
                done = tariff_version_publish(version=version, actor=request.user)
            except (MeterproofError, ValidationError, IntegrityError) as exc:
                self.message_user(
                    request,
                    f"{version}: not published: {describe_error(exc)}",
                    messages.ERROR,
                )
            else:
                published.append(f"{done.tariff.tariff_id} v{done.version}")
        if published:
            self.message_user(
                request,
                f"Published {', '.join(published)}; now immutable.",
                messages.SUCCESS,
            )

    @admin.action(description="New draft from selected version", permissions=["add"])
    def new_draft_from(
        self, request: HttpRequest, queryset: QuerySet[TariffVersion]
    ) -> None:
        """Start a draft copying each selected version, effective from now
        (to the second); edit and publish it afterwards."""
        effective_from = timezone.now().replace(microsecond=0)
        for version in queryset.select_related("tariff").order_by(
            "tariff__tariff_id", "version"
        ):
            try:
                draft = tariff_version_new_from(
                    version=version, effective_from=effective_from, actor=request.user
                )
            except (MeterproofError, ValidationError, IntegrityError) as exc:
                self.message_user(
                    request,
                    f"{version}: no draft: {describe_error(exc)}",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    format_html(
                        "New draft {} from {}, effective from {}.",
                        admin_link(draft),
                        version,
                        effective_from.isoformat(),
                    ),
                    messages.SUCCESS,
                )
