"""Admin of tenants: create through ``tenant_create``, edit through
``tenant_update``, issue API keys (action); their keys are listed inline, and
their subscriptions in an inline that adds through ``subscription_create``
and only ends existing rows (``subscription_end``).

A service error (:class:`~kernel.protocol.errors.MeterproofError` or Django
``ValidationError``) becomes a form error or an error message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from billing.admin.credit_notes import credit_totals_of_tenant
from billing.admin.shared import ReadOnlyInline
from billing.admin.statements import tenants_close_previous_period
from billing.models import ApiKey, MeterKey, Subscription, Tenant
from billing.services.subscriptions import subscription_create, subscription_end
from billing.services.tenants import (
    TENANT_UPDATE_FIELDS,
    api_key_issue,
    tenant_create,
    tenant_update,
)
from kernel.admin_helpers import ServiceErrorsMixin, utc

__all__ = [
    "ApiKeyInline",
    "MeterKeyInline",
    "SubscriptionForm",
    "SubscriptionInline",
    "TenantAddForm",
    "TenantAdmin",
]


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


class SubscriptionForm(forms.ModelForm):
    """One subscription row: a new row asks for tariff, start and end; a
    stored row shows tariff and start disabled (the posted values are
    ignored) and only its end can be set."""

    class Meta:
        model = Subscription
        fields = ("tariff", "starts_at", "ends_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Disable tariff and start on a stored row."""
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in ("tariff", "starts_at"):
                self.fields[name].disabled = True

    def clean_ends_at(self) -> Any:
        """A stored row's end may be set or moved earlier, never cleared
        (``subscription_end`` never reopens a subscription)."""
        ends_at = self.cleaned_data.get("ends_at")
        stored = self.instance.ends_at if self.instance.pk is not None else None
        if stored is not None and ends_at is None:
            raise forms.ValidationError(
                "an ended subscription cannot be reopened; subscribe again",
                code="subscription_invalid",
            )
        return ends_at

    def validate_unique(self) -> None:
        """Leave uniqueness and constraints to the services, which say
        ``subscription_overlap`` (the formset is saved through them)."""


class SubscriptionFormSet(BaseInlineFormSet):
    """Saves through the services: new rows by ``subscription_create``,
    changed ends by ``subscription_end``; never deletes. ``audit_actor`` is
    the staff user the audit trail records (set by
    ``TenantAdmin.save_formset``)."""

    audit_actor: Any = None

    def save_new(self, form: forms.ModelForm, commit: bool = True) -> Subscription:
        """Subscribe through ``subscription_create``."""
        data = form.cleaned_data
        return subscription_create(
            tenant=self.instance,
            tariff=data["tariff"],
            starts_at=data["starts_at"],
            ends_at=data.get("ends_at"),
            actor=self.audit_actor,
        )

    def save_existing(
        self, form: forms.ModelForm, obj: Subscription, commit: bool = True
    ) -> Subscription:
        """End through ``subscription_end`` when ``ends_at`` was set."""
        ends_at = form.cleaned_data.get("ends_at")
        if ends_at is None:  # still open (clean_ends_at refuses reopening)
            obj.refresh_from_db()
            return obj
        return subscription_end(
            subscription=obj, ends_at=ends_at, actor=self.audit_actor
        )


class SubscriptionInline(admin.TabularInline):
    """The tenant's subscriptions (one tariff per metric at a time; no
    subscription at all = the default plan). Add rows; stored rows can only
    be ended."""

    model = Subscription
    form = SubscriptionForm
    formset = SubscriptionFormSet
    fields = ("tariff", "starts_at", "ends_at", "created_at")
    readonly_fields = ("created_at",)
    ordering = ("starts_at",)
    extra = 0
    can_delete = False
    verbose_name_plural = (
        "subscriptions (none: the default plan; a stored row can only be ended)"
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Subscriptions are ended, never deleted (they priced bundles)."""
        return False


class TenantAddForm(forms.ModelForm):
    """Fields asked for when creating a tenant (``tenant_create``)."""

    class Meta:
        model = Tenant
        fields = ("slug", "name", "is_surrogate")


@admin.register(Tenant)
class TenantAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    """Tenants: create through ``tenant_create``, issue API keys (action)."""

    list_display = (
        "slug",
        "name",
        "active",
        "surrogate",
        "bundle_count",
        "api_key_count",
        "created",
    )
    list_display_links = ("slug",)
    list_filter = ("is_active", "is_surrogate", "subscriptions__tariff")
    search_fields = ("slug", "name")
    date_hierarchy = "created_at"
    inlines = (SubscriptionInline, ApiKeyInline, MeterKeyInline)
    actions = ("issue_api_key", tenants_close_previous_period)
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
        """Subscriptions and keys are listed once the tenant exists."""
        return self.inlines if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        """Add: slug, name, surrogate. Change: everything, slug fixed."""
        if obj is None:
            return ["slug", "name", "is_surrogate"]
        return [
            "slug",
            "name",
            "is_active",
            "is_surrogate",
            "created_at",
            "credit_totals",
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Tenant | None = None
    ) -> tuple:
        """The slug is the signed events' ``tenant``: fixed once created."""
        if obj is None:
            return ()
        return ("slug", "is_surrogate", "created_at", "credit_totals")

    @admin.display(description="charges, credits and net")
    def credit_totals(self, obj: Tenant) -> str:
        """Per currency: the bundles' charges, the credit notes (negative)
        and the net (``credit_totals_of_tenant``)."""
        return credit_totals_of_tenant(obj)

    def save_model(
        self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool
    ) -> None:
        """Create through ``tenant_create``; an edit changes only name and
        is_active, through ``tenant_update``."""
        if not change:
            created = tenant_create(
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data.get("name", ""),
                is_surrogate=form.cleaned_data.get("is_surrogate", False),
                actor=request.user,
            )
            obj.pk = created.pk
            obj.name = created.name
            obj.created_at = created.created_at
            return
        changes = {
            field: form.cleaned_data[field]
            for field in TENANT_UPDATE_FIELDS
            if field in form.changed_data
        }
        tenant_update(tenant=obj, changes=changes, actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tenants are deactivated, not deleted (their bundles stay)."""
        return False

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        """Save the inlines with the staff user as the audit trail's actor."""
        formset.audit_actor = request.user
        super().save_formset(request, form, formset, change)

    @admin.action(description="Issue API key", permissions=["change"])
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        """Issue one API key per selected tenant and show each secret once."""
        for tenant in queryset.order_by("slug"):
            issued = api_key_issue(
                tenant=tenant, name=f"admin:{request.user}", actor=request.user
            )
            self.message_user(
                request,
                f"New API key for {tenant.slug} (prefix {issued.api_key.prefix}): "
                f"{issued.secret} — store it now; it is shown only once and "
                "only its SHA-256 is kept.",
                level=messages.WARNING,
            )
