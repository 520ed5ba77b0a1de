"""Admin of keys: tenants' API keys (view, revoke) and gateway meter keys
(register, retire, revoke).

Every change goes through a service: ``api_key_revoke``,
``meter_key_register``, ``meter_key_retire`` and, for a meter key's
revocation, ``revocation_key_add`` (a new signed revocation snapshot).
Registered keys are never edited or deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin.shared import admin_link
from billing.models import ApiKey, MeterKey
from billing.services.tenants import (
    api_key_revoke,
    meter_key_register,
    meter_key_retire,
)
from kernel.admin_helpers import ReadOnlyAdmin, ServiceErrorsMixin
from kernel.protocol.errors import MeterproofError
from revocation.services.revocations import revocation_key_add

__all__ = ["ApiKeyAdmin", "MeterKeyAddForm", "MeterKeyAdmin"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """API keys: view and revoke. Issue them from the tenant list (the
    secret is shown once); rows are never edited or deleted, only revoked."""

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

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Revoking needs the change permission on API keys."""
        return request.user.has_perm("billing.change_apikey")

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        """Revoke each selected key through ``api_key_revoke`` (idempotent)."""
        revoked = [
            api_key_revoke(api_key=key, actor=request.user).prefix
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
        kids = [
            meter_key_retire(meter_key=row, actor=request.user).kid[:10]
            for row in queryset
        ]
        self.message_user(request, f"Retired {len(kids)}: {', '.join(kids)}.")

    @admin.action(description="Revoke selected meter keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[MeterKey]) -> None:
        """Revoke each kid through ``revocation_key_add`` (new snapshot)."""
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
            actor=request.user,
        )
        obj.pk, obj.kid, obj.created_at = row.pk, row.kid, row.created_at
