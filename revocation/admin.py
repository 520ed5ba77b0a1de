"""Django admin for revocations: staff add and lift through services.

Adding a revocation is the add form (``revocation_key_add`` /
``revocation_attestation_add``); lifting is the "Lift" action, which asks for a
reason and calls ``revocation_*_lift``. Both record ``request.user`` and publish
a new signed snapshot. Rows are read-only after creation and never deleted.
Published snapshots and feed fetches (the poll metric: filter by outcome and
code) are view-only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from kernel.admin_helpers import (
    ReadOnlyAdmin,
    ServiceErrorsMixin,
    describe_error,
    pretty_json,
    utc,
)
from kernel.keyring import published_keys
from kernel.protocol.errors import MeterproofError
from revocation.models import (
    RevocationFetch,
    RevocationSnapshot,
    RevokedAttestation,
    RevokedKey,
)
from revocation.services.revocations import (
    revocation_attestation_add,
    revocation_attestation_lift,
    revocation_key_add,
    revocation_key_lift,
)


class LiftForm(forms.Form):
    """The reason asked for by the "Lift" action."""

    lift_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with your user name and the time.",
    )


class RevocationAdminBase(ServiceErrorsMixin, admin.ModelAdmin):
    """Shared behaviour: read-only rows, no delete, the lift action."""

    actions = ("lift",)
    list_filter = (("lifted_at", admin.EmptyFieldListFilter), "revoked_at")
    lift_service: Any = None
    lift_argument = ""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Revocations are never edited; lift them with the action."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Revocations are lifted (recorded), never deleted."""
        return False

    def has_lift_permission(self, request: HttpRequest) -> bool:
        """Lifting needs the model's change permission."""
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Everything but the add form is read-only."""
        return () if obj is None else self.view_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Add: the add fields. View: everything."""
        return self.add_fields if obj is None else self.view_fields

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj: Any) -> bool:
        """Whether the revocation is in force (not lifted)."""
        return obj.lifted_at is None

    @admin.display(description="revoked (UTC)", ordering="revoked_at")
    def revoked(self, obj: Any) -> str:
        """Revocation time, compact UTC."""
        return utc(obj.revoked_at)

    @admin.action(
        description="Lift selected revocations (asks a reason)", permissions=["lift"]
    )
    def lift(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        """Ask for a reason, then lift each selected revocation in force
        through the lift service (recorded, publishes a snapshot)."""
        rows = list(queryset.filter(lifted_at__isnull=True).order_by("id"))
        skipped = queryset.count() - len(rows)
        if not rows:
            self.message_user(
                request, "Nothing to lift: all already lifted.", messages.INFO
            )
            return None
        form = LiftForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            lifted = []
            for row in rows:
                try:
                    type(self).lift_service(
                        **{self.lift_argument: row},
                        reason=form.cleaned_data["lift_reason"],
                        actor=request.user,
                    )
                    lifted.append(str(row))
                except MeterproofError as exc:
                    self.message_user(
                        request,
                        f"{row}: not lifted: {describe_error(exc)}",
                        messages.ERROR,
                    )
            if lifted:
                self.message_user(
                    request, f"Lifted {len(lifted)}: {', '.join(lifted)}."
                )
            if skipped:
                self.message_user(
                    request, f"{skipped} already lifted, left unchanged.", messages.INFO
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Lift revocations",
            "rows": rows,
            "form": form,
            "action": "lift",
        }
        return TemplateResponse(request, "admin/revocation/lift.html", context)


def known_key_choices() -> list[tuple[str, str]]:
    """Return ``(kid, label)`` for every key this server publishes in its
    trust anchors (server roles and tenant gateway meter keys), the keys
    staff may revoke; the label names the role, tenant and status."""
    choices = [("", "---------")]
    for key in published_keys():
        owner = f", tenant {key.tenant}" if key.tenant else ""
        choices.append((key.kid, f"{key.kid} ({key.role}{owner}, {key.status})"))
    return choices


class RevokedKeyAddForm(forms.ModelForm):
    """Revoke a key ID (``revocation_key_add``), picked from the keys this
    server publishes: a typo or an unknown kid is a form error, never a
    published revocation."""

    kid = forms.ChoiceField(
        choices=known_key_choices,
        label="Key",
        help_text="A key published in /.well-known/vdi-billing-trust.json.",
    )

    class Meta:
        model = RevokedKey
        fields = ("kid", "reason")


@admin.register(RevokedKey)
class RevokedKeyAdmin(RevocationAdminBase):
    """Revoked key IDs: add (form), lift (action), view."""

    form = RevokedKeyAddForm
    list_display = (
        "kid",
        "in_force",
        "reason",
        "revoked_by_label",
        "revoked",
        "lifted_at",
    )
    search_fields = ("kid", "reason", "revoked_by_label")
    add_fields = ("kid", "reason")
    view_fields = (
        "kid",
        "reason",
        "revoked_by_label",
        "revoked_at",
        "lifted_at",
        "lifted_by_label",
        "lift_reason",
    )
    lift_service = revocation_key_lift
    lift_argument = "revoked_key"

    def save_model(
        self, request: HttpRequest, obj: RevokedKey, form: forms.ModelForm, change: bool
    ) -> None:
        """Revoke through ``revocation_key_add`` with ``request.user``."""
        row = revocation_key_add(
            kid=form.cleaned_data["kid"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
        obj.pk, obj.revoked_at, obj.revoked_by_label = (
            row.pk,
            row.revoked_at,
            row.revoked_by_label,
        )


class RevokedAttestationAddForm(forms.ModelForm):
    """Revoke an attestation by receipt id or bundle hash (``revocation_attestation_add``)."""

    class Meta:
        model = RevokedAttestation
        fields = ("receipt_id", "bundle_hash", "reason")


@admin.register(RevokedAttestation)
class RevokedAttestationAdmin(RevocationAdminBase):
    """Revoked attestations: add (form), lift (action), view."""

    form = RevokedAttestationAddForm
    list_display = (
        "identifier",
        "in_force",
        "reason",
        "revoked_by_label",
        "revoked",
        "lifted_at",
    )
    search_fields = ("receipt_id", "bundle_hash", "reason", "revoked_by_label")
    add_fields = ("receipt_id", "bundle_hash", "reason")
    view_fields = (
        "receipt_id",
        "bundle_hash",
        "reason",
        "revoked_by_label",
        "revoked_at",
        "lifted_at",
        "lifted_by_label",
        "lift_reason",
    )
    lift_service = revocation_attestation_lift
    lift_argument = "revoked_attestation"

    def save_model(
        self,
        request: HttpRequest,
        obj: RevokedAttestation,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        """Revoke through ``revocation_attestation_add`` with ``request.user``."""
        row = revocation_attestation_add(
            receipt_id=form.cleaned_data.get("receipt_id", ""),
            bundle_hash=form.cleaned_data.get("bundle_hash", ""),
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
        obj.pk, obj.revoked_at, obj.revoked_by_label = (
            row.pk,
            row.revoked_at,
            row.revoked_by_label,
        )


@admin.register(RevocationSnapshot)
class RevocationSnapshotAdmin(ReadOnlyAdmin):
    """Published snapshots (append-only; the feed serves the latest)."""

    list_display = (
        "sequence",
        "signed_at",
        "kid_count",
        "attestation_count",
        "issuer_kid",
        "created_at",
    )
    fields = ("sequence", "signed_at", "issuer_kid", "document_pretty", "created_at")
    readonly_fields = fields

    @admin.display(description="snapshotTime (UTC)", ordering="snapshot_time")
    def signed_at(self, obj: RevocationSnapshot) -> str:
        """``snapshotTime`` as UTC."""
        return datetime.fromtimestamp(obj.snapshot_time, UTC).isoformat()

    @admin.display(description="document (as served)")
    def document_pretty(self, obj: RevocationSnapshot) -> str:
        """The signed document, indented."""
        return pretty_json(obj.document)


@admin.register(RevocationFetch)
class RevocationFetchAdmin(ReadOnlyAdmin):
    """Polls of VDI_BILLING_REVOCATION_URL: the fetch log and its metric
    (filter by outcome and code to count refusals)."""

    list_display = (
        "id",
        "fetched_at",
        "outcome",
        "code",
        "sequence",
        "attempts",
        "url",
    )
    list_filter = ("outcome", "code", "url")
    fields = (
        "url",
        "fetched_at",
        "outcome",
        "code",
        "message",
        "attempts",
        "sequence",
        "snapshot_time",
        "document",
    )
    readonly_fields = fields
