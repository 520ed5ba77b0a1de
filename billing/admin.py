"""Django admin for billing staff: tenants and keys, tariffs, attested data.

Every state change goes through a service (CONVENTIONS.md §1): the add forms,
the draft edit form and the actions call ``billing.services``; published tariff
versions and everything attested (meter events, replay reservations, bundles)
are read-only. A service error (:class:`MeterproofError` or Django
``ValidationError``) becomes a form error or an error message, never a 500.

The one plain save is a tenant's ``name`` / ``tariff`` / ``is_active`` edit:
there is no ``tenant_update`` service yet.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing.models import (
    ApiKey,
    Bundle,
    MeterEvent,
    MeterKey,
    ReplayReservation,
    Tariff,
    TariffVersion,
    Tenant,
)
from billing.protocol.tariff import Tariff as TariffDoc
from billing.protocol.tariff import format_amount, price_breakdown
from billing.selectors import bundle_documents, bundle_get, bundle_revocation_check
from billing.services.proofs import billing_proofs_retry
from billing.services.tariffs import (
    tariff_create,
    tariff_document,
    tariff_version_create,
    tariff_version_new_from,
    tariff_version_publish,
    tariff_version_update,
)
from billing.services.tenants import (
    api_key_issue,
    api_key_revoke,
    meter_key_register,
    meter_key_retire,
    tenant_create,
)
from kernel.admin_helpers import ServiceErrorsMixin, describe_error, pretty_json, utc
from kernel.protocol.errors import JsonInputError, MeterproofError
from kernel.protocol.strictjson import loads as strict_loads
from transparency.admin import ReadOnlyAdmin
from transparency.models import LogEntry

admin.site.site_header = "meterproof administration"
admin.site.site_title = "meterproof admin"
admin.site.index_title = "Billing and transparency log"
# Lists here are wide (ids, hashes): give them the sidebar's width.
admin.site.enable_nav_sidebar = False

#: Quantities shown in a tariff version's price preview.
PREVIEW_QUANTITIES = (1, 10, 100, 1000)



# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def admin_link(obj: Any, text: str | None = None) -> str:
    """Return an HTML link to ``obj``'s admin change page (``"-"`` if None)."""
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


class ReadOnlyInline(admin.TabularInline):
    """A read-only tabular inline with links to each row."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No adding from the inline."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No changes from the inline."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No deleting from the inline."""
        return False


def _field_for(form: forms.BaseForm, field: str | None) -> str | None:
    """Return the form field an error's dotted ``field`` belongs to, else None."""
    if not field:
        return None
    head = field.split(".", 1)[0].split("[", 1)[0]
    return head if head in form.fields else None


# --------------------------------------------------------------------------
# Tenants and keys
# --------------------------------------------------------------------------


class ApiKeyInline(ReadOnlyInline):
    """The tenant's API keys (prefix only; secrets are never stored)."""

    model = ApiKey
    fields = ("prefix", "name", "created_at", "revoked_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    verbose_name_plural = "API keys (issue with the “Issue API key” action)"


class MeterKeyInline(ReadOnlyInline):
    """The tenant's registered gateway meter keys."""

    model = MeterKey
    fields = ("kid", "public_key_b64url", "not_before", "not_after", "created_at")
    readonly_fields = fields


class TenantAddForm(forms.ModelForm):
    """Fields asked for when creating a tenant (``tenant_create``)."""

    class Meta:
        model = Tenant
        fields = ("slug", "name", "tariff", "is_surrogate")


@admin.register(Tenant)
class TenantAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    """Tenants: create through ``tenant_create``, issue API keys (action)."""

    list_display = (
        "slug",
        "name",
        "tariff",
        "active",
        "surrogate",
        "bundle_count",
        "api_key_count",
        "created",
    )
    list_display_links = ("slug",)
    list_filter = ("is_active", "is_surrogate", "tariff")
    search_fields = ("slug", "name")
    list_select_related = ("tariff",)
    date_hierarchy = "created_at"
    inlines = (ApiKeyInline, MeterKeyInline)
    actions = ("issue_api_key",)
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        """Annotate bundle and live API key counts."""
        return (
            super()
            .get_queryset(request)
            .annotate(
                _bundles=Count("bundles", distinct=True),
                _api_keys=Count("api_keys", distinct=True),
            )
        )

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, obj: Tenant) -> bool:
        """Whether the tenant may attest."""
        return obj.is_active

    @admin.display(description="surrogate", boolean=True, ordering="is_surrogate")
    def surrogate(self, obj: Tenant) -> bool:
        """Whether a backfill created it from a client-address hash."""
        return obj.is_surrogate

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, obj: Tenant) -> str:
        """Creation time, compact UTC."""
        return utc(obj.created_at)

    @admin.display(description="bundles", ordering="_bundles")
    def bundle_count(self, obj: Tenant) -> str:
        """Number of bundles, linked to the tenant's bundle list."""
        url = (
            reverse("admin:billing_bundle_changelist") + f"?tenant__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._bundles)  # type: ignore[attr-defined]

    @admin.display(description="API keys", ordering="_api_keys")
    def api_key_count(self, obj: Tenant) -> str:
        """Number of API keys (live and revoked), linked to the key list."""
        url = (
            reverse("admin:billing_apikey_changelist") + f"?tenant__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._api_keys)  # type: ignore[attr-defined]

    def get_form(
        self,
        request: HttpRequest,
        obj: Tenant | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        """Use the creation form on add."""
        if obj is None:
            kwargs["form"] = TenantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Tenant | None = None) -> tuple:
        """Keys are listed once the tenant exists."""
        return self.inlines if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        """Add: slug, name, tariff, surrogate. Change: everything, slug fixed."""
        if obj is None:
            return ["slug", "name", "tariff", "is_surrogate"]
        return ["slug", "name", "tariff", "is_active", "is_surrogate", "created_at"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Tenant | None = None
    ) -> tuple:
        """The slug is the signed events' ``tenant``: fixed once created."""
        if obj is None:
            return ()
        return ("slug", "is_surrogate", "created_at")

    def save_model(
        self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool
    ) -> None:
        """Create through ``tenant_create``; an edit saves only name, tariff
        and is_active (no ``tenant_update`` service exists yet)."""
        if not change:
            created = tenant_create(
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data.get("name", ""),
                tariff=form.cleaned_data.get("tariff"),
                is_surrogate=form.cleaned_data.get("is_surrogate", False),
            )
            obj.pk = created.pk
            obj.name = created.name
            obj.created_at = created.created_at
            return
        fields = [f for f in ("name", "tariff", "is_active") if f in form.changed_data]
        if fields:
            obj.full_clean()
            obj.save(update_fields=fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tenants are deactivated, not deleted (their bundles stay)."""
        return False

    @admin.action(description="Issue API key", permissions=["change"])
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        """Issue one API key per selected tenant and show each secret once."""
        for tenant in queryset.order_by("slug"):
            issued = api_key_issue(tenant=tenant, name=f"admin:{request.user}")
            self.message_user(
                request,
                f"New API key for {tenant.slug} (prefix {issued.api_key.prefix}): "
                f"{issued.secret} — store it now; it is shown only once and "
                "only its SHA-256 is kept.",
                level=messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """API keys: view and revoke. Issue them from the tenant list."""

    list_display = ("prefix", "tenant_link", "name", "created_at", "revoked_at", "live")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("prefix", "name", "tenant__slug")
    list_select_related = ("tenant",)
    fields = ("prefix", "tenant", "name", "created_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)
    ordering = ("-created_at",)

    @admin.display(description="tenant", ordering="tenant__slug")
    def tenant_link(self, obj: ApiKey) -> str:
        """Link to the key's tenant."""
        return admin_link(obj.tenant)

    @admin.display(description="live", boolean=True)
    def live(self, obj: ApiKey) -> bool:
        """Whether the key still authenticates (not revoked)."""
        return obj.revoked_at is None

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Keys are issued by the tenant action (the secret is shown once)."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Key rows are never edited; revoke them with the action."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keys are revoked, not deleted."""
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Revoking needs the change permission on API keys."""
        return request.user.has_perm("billing.change_apikey")

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        """Revoke each selected key through ``api_key_revoke`` (idempotent)."""
        revoked = [
            api_key_revoke(api_key=key).prefix
            for key in queryset.filter(revoked_at__isnull=True)
        ]
        skipped = queryset.count() - len(revoked)
        if revoked:
            self.message_user(request, f"Revoked {len(revoked)}: {', '.join(revoked)}.")
        if skipped:
            self.message_user(
                request, f"{skipped} already revoked, left unchanged.", messages.INFO
            )


class MeterKeyAddForm(forms.ModelForm):
    """Register a tenant gateway's Ed25519 public key (``meter_key_register``)."""

    class Meta:
        model = MeterKey
        fields = ("tenant", "public_key_b64url", "not_before", "not_after")


@admin.register(MeterKey)
class MeterKeyAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    """Tenant gateway meter keys (trust anchors): register, view, retire
    (end the window now) and revoke (list the kid in the revocation snapshot)."""

    list_display = ("kid", "tenant", "not_before", "not_after", "created_at")
    search_fields = ("kid", "tenant__slug")
    list_select_related = ("tenant",)
    form = MeterKeyAddForm
    actions = ("retire", "revoke")

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Retiring or revoking needs the change permission on meter keys."""
        return request.user.has_perm("billing.change_meterkey")

    @admin.action(description="Retire selected meter keys now", permissions=["revoke"])
    def retire(self, request: HttpRequest, queryset: QuerySet[MeterKey]) -> None:
        """End each key's window now through ``meter_key_retire``."""
        kids = [meter_key_retire(meter_key=row).kid[:10] for row in queryset]
        self.message_user(request, f"Retired {len(kids)}: {', '.join(kids)}.")

    @admin.action(description="Revoke selected meter keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[MeterKey]) -> None:
        """Revoke each kid through ``revocation_key_add`` (new snapshot)."""
        from revocation.services.revocations import revocation_key_add

        done, failed = [], []
        for row in queryset:
            try:
                revocation_key_add(
                    kid=row.kid, reason="meter key revoked by staff", actor=request.user
                )
                done.append(row.kid[:10])
            except MeterproofError as exc:
                failed.append(f"{row.kid[:10]}: {exc.code}")
        if done:
            self.message_user(request, f"Revoked {len(done)}: {', '.join(done)}.")
        if failed:
            self.message_user(request, "; ".join(failed), messages.WARNING)

    def get_fields(
        self, request: HttpRequest, obj: MeterKey | None = None
    ) -> list[str]:
        """Add: tenant and key. View: everything."""
        if obj is None:
            return ["tenant", "public_key_b64url", "not_before", "not_after"]
        return [
            "kid",
            "tenant",
            "public_key_b64url",
            "not_before",
            "not_after",
            "created_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Everything but the add form is read-only."""
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Registered keys are never edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No meter key deletion service exists (bundles refer to kids)."""
        return False

    def save_model(
        self, request: HttpRequest, obj: MeterKey, form: forms.ModelForm, change: bool
    ) -> None:
        """Register through ``meter_key_register`` (computes the kid)."""
        row = meter_key_register(
            tenant=form.cleaned_data["tenant"],
            public_key_b64url=form.cleaned_data["public_key_b64url"],
            not_before=form.cleaned_data.get("not_before"),
            not_after=form.cleaned_data.get("not_after"),
        )
        obj.pk, obj.kid, obj.created_at = row.pk, row.kid, row.created_at


# --------------------------------------------------------------------------
# Tariffs
# --------------------------------------------------------------------------


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
        )
        obj.pk, obj.created_at = created.pk, created.created_at

    @admin.display(description="new version")
    def add_version_link(self, obj: Tariff) -> str:
        """Link to the add form of a draft version of this tariff."""
        url = reverse("admin:billing_tariffversion_add") + f"?tariff={obj.pk}"
        return format_html('<a class="addlink" href="{}">add a draft version</a>', url)


class StrictJSONDecoder(json.JSONDecoder):
    """``json.JSONDecoder`` that reads with the protocol's strict I-JSON reader
    (duplicate member names, nesting over 64 levels, lone surrogates and
    ``NaN`` are refused), for Django's ``forms.JSONField(decoder=...)``."""

    def decode(self, s: str, _w: Any = None) -> Any:
        """Return the parsed value.

        Raises:
            json.JSONDecodeError: the reader refused ``s`` (the message names
                its code, e.g. ``duplicate_member``, and the member's path).
        """
        try:
            return strict_loads(s)
        except JsonInputError as exc:
            where = f" at {exc.field}" if exc.field else ""
            raise json.JSONDecodeError(
                f"{exc.code}{where}: {exc.message}", s, 0
            ) from None


class PrettyJSONField(forms.JSONField):
    """A JSON form field whose textarea shows the value indented and whose
    input is read strictly (:class:`StrictJSONDecoder`)."""

    def __init__(self, **kwargs: Any) -> None:
        """Use :class:`StrictJSONDecoder` unless another decoder is given."""
        kwargs.setdefault("decoder", StrictJSONDecoder)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        """Indent valid JSON; leave what the user typed alone if it is not."""
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


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
            self.add_error(_field_for(self, exc.field), describe_error(exc))
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
            doc = TariffDoc.from_json(obj.document or tariff_document(obj))
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
            tariff_version_update(obj, **changes)

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
                done = tariff_version_publish(version=version)
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
                    version=version, effective_from=effective_from
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


# --------------------------------------------------------------------------
# Attested data (read-only)
# --------------------------------------------------------------------------


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
    actions = ("retry_proofs",)
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
        "document_pretty",
    )
    readonly_fields = fields

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Retrying proofs needs the view permission on bundles plus staff
        status (it changes no signed data, only re-queues proving)."""
        return bool(request.user.is_staff) and request.user.has_perm(
            "billing.view_bundle"
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
