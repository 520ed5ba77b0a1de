"""The staff disputes queue: every dispute, earliest evidence deadline
first, filtered by state and due date, overdue ones highlighted; the
dispute page shows the verification recorded at opening and the evidence,
and offers one-click "verify the bundle now" (standard, and strict when a
revocation snapshot is available).

The steps "start review", "decide won" (issues the credit note) and
"decide lost" (with a note) each ask for a confirmation and call
:mod:`billing.services.disputes`; a refused step (409
``dispute_state_invalid``...) becomes an error message, never a 500.
Disputes and their evidence are otherwise read-only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from billing.admin.shared import ReadOnlyInline, admin_link
from billing.models import Dispute, DisputeEvidence
from billing.models_disputes import OPEN_STATES
from billing.protocol.tariff import format_amount
from billing.protocol.verify.options import PROFILE_STANDARD, PROFILE_STRICT
from billing.selectors_disputes import dispute_queue, dispute_strict_problem
from billing.services.disputes import (
    dispute_bundle_verify,
    dispute_decide,
    dispute_review_start,
)
from kernel.admin_helpers import ReadOnlyAdmin, describe_error, pretty_json, utc
from kernel.protocol.errors import MeterproofError

__all__ = ["DisputeAdmin", "DisputeDueFilter", "DisputeStepForm"]

#: "Due soon" in the due-date filter: within this many days.
DUE_SOON_DAYS: Final = 3

#: The staff steps: URL name → (title, button, service outcome or None for
#: start review, whether a note is required).
STEPS: Final[dict[str, tuple[str, str, str | None, bool]]] = {
    "start-review": ("Start the review", "Start review", None, False),
    "decide-won": (
        "Decide won (for the tenant): issue the credit note",
        "Decide won",
        "won",
        False,
    ),
    "decide-lost": ("Decide lost", "Decide lost", "lost", True),
}


class DisputeStepForm(forms.Form):
    """The confirmation of a staff step, with the decision note."""

    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text="Shown to the tenant with the decision; required to decide lost.",
    )


class DisputeDueFilter(admin.SimpleListFilter):
    """Filter by evidence deadline: overdue (open, past due), due soon
    (open, within 3 days), later (open), closed."""

    title = "due date"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """Return the filter's choices."""
        return [
            ("overdue", "Overdue"),
            ("soon", f"Due within {DUE_SOON_DAYS} days"),
            ("later", "Due later"),
            ("closed", "Closed"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Dispute]
    ) -> QuerySet[Dispute]:
        """Return the disputes of the chosen due-date bucket."""
        now = timezone.now()
        soon = now + timedelta(days=DUE_SOON_DAYS)
        open_rows = queryset.filter(state__in=OPEN_STATES)
        value = self.value()
        if value == "overdue":
            return open_rows.filter(evidence_due_by__lt=now)
        if value == "soon":
            return open_rows.filter(evidence_due_by__gte=now, evidence_due_by__lt=soon)
        if value == "later":
            return open_rows.filter(evidence_due_by__gte=soon)
        if value == "closed":
            return queryset.exclude(state__in=OPEN_STATES)
        return queryset


class DisputeEvidenceInline(ReadOnlyInline):
    """The dispute's evidence files, pinned by SHA-256 (read-only), each
    with a download link."""

    model = DisputeEvidence
    fields = ("name", "sha256", "size_bytes", "added_at", "download")
    readonly_fields = fields
    show_change_link = False

    @admin.display(description="file")
    def download(self, obj: DisputeEvidence) -> str:
        """Link that downloads the file as the tenant sent it."""
        url = reverse("admin:billing_dispute_evidence", args=[obj.dispute_id, obj.pk])
        return format_html('<a href="{}">download</a>', url)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """The disputes queue and the dispute page with its staff steps."""

    list_display = (
        "dispute_id",
        "tenant",
        "receipt",
        "reason",
        "state",
        "due",
        "verified",
        "opened",
    )
    list_filter = ("state", DisputeDueFilter, "reason")
    search_fields = ("=dispute_id", "=bundle__receipt_id", "=tenant__slug")
    list_select_related = ("tenant", "bundle")
    ordering = ("evidence_due_by", "id")
    inlines = (DisputeEvidenceInline,)
    fields = (
        "dispute_id",
        "tenant_link",
        "receipt",
        "amount",
        "reason",
        "state",
        "due",
        "evidence_text",
        "verification_pretty",
        "decision_note",
        "decided_by_label",
        "decided_at",
        "credit_note_id",
        "opened_at",
        "review_started_at",
        "withdrawn_at",
        "updated_at",
    )
    readonly_fields = fields
    change_form_template = "admin/billing/dispute/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        """Return the queue (``dispute_queue``: earliest deadline first)."""
        return dispute_queue()

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Staff steps need staff status and the change permission on
        disputes (the form itself stays read-only)."""
        return bool(request.user.is_staff) and request.user.has_perm(
            "billing.change_dispute"
        )

    @admin.display(description="receipt", ordering="bundle__receipt_id")
    def receipt(self, obj: Dispute) -> str:
        """Link to the disputed bundle."""
        return admin_link(obj.bundle, obj.bundle.receipt_id)

    @admin.display(description="tenant")
    def tenant_link(self, obj: Dispute) -> str:
        """Link to the tenant."""
        return admin_link(obj.tenant)

    @admin.display(description="disputed amount")
    def amount(self, obj: Dispute) -> str:
        """The bundle's charge in major units with its currency."""
        return format_amount(obj.bundle.amount_minor, obj.bundle.currency)

    @admin.display(description="evidence due (UTC)", ordering="evidence_due_by")
    def due(self, obj: Dispute) -> str:
        """The evidence deadline; an open dispute past it is highlighted."""
        text = utc(obj.evidence_due_by)
        if obj.state in OPEN_STATES and obj.evidence_due_by < timezone.now():
            return format_html(
                '<strong style="color: var(--error-fg, #ba2121)">{} overdue</strong>',
                text,
            )
        return text

    @admin.display(description="verified at opening", boolean=True)
    def verified(self, obj: Dispute) -> bool:
        """The verdict recorded when the dispute opened."""
        return obj.verification_ok

    @admin.display(description="opened (UTC)", ordering="opened_at")
    def opened(self, obj: Dispute) -> str:
        """Opening time, compact UTC."""
        return utc(obj.opened_at)

    @admin.display(description="verification at opening")
    def verification_pretty(self, obj: Dispute) -> str:
        """The verification report recorded when the dispute opened."""
        return pretty_json(obj.verification)

    def get_urls(self) -> list[URLPattern]:
        """Add the dispute page's "verify now" and the staff steps."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/verify/<str:profile>/",
                wrap(self.verify_view),
                name="billing_dispute_verify",
            ),
            path(
                "<path:object_id>/evidence/<int:evidence_pk>/",
                wrap(self.evidence_view),
                name="billing_dispute_evidence",
            ),
            path(
                "<path:object_id>/step/<str:step>/",
                wrap(self.step_view),
                name="billing_dispute_step",
            ),
            *super().get_urls(),
        ]

    def _dispute(self, request: HttpRequest, object_id: str) -> Dispute:
        dispute = self.get_object(request, unquote(object_id))
        if dispute is None:
            raise Http404(f"no dispute {object_id}")
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        return dispute

    def _change_url(self, dispute: Dispute) -> str:
        return reverse("admin:billing_dispute_change", args=[dispute.pk])

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The dispute page, with the buttons its state allows."""
        dispute = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if dispute is not None:
            context["dispute_steps"] = self._steps_for(request, dispute)
            context["strict_problem"] = dispute_strict_problem()
        return super().change_view(request, object_id, form_url, context)

    def _steps_for(
        self, request: HttpRequest, dispute: Dispute
    ) -> list[dict[str, str]]:
        if not self.has_decide_permission(request):
            return []
        names = {
            Dispute.State.NEEDS_RESPONSE: ["start-review"],
            Dispute.State.UNDER_REVIEW: ["decide-won", "decide-lost"],
        }.get(dispute.state, [])
        return [
            {
                "url": reverse("admin:billing_dispute_step", args=[dispute.pk, name]),
                "label": STEPS[name][1],
            }
            for name in names
        ]

    def verify_view(
        self, request: HttpRequest, object_id: str, profile: str
    ) -> HttpResponse:
        """Verify the disputed bundle now under ``profile`` (``standard`` or
        ``strict``) with the one verifier and show the report beside the
        one recorded at opening."""
        dispute = self._dispute(request, object_id)
        names = {"standard": PROFILE_STANDARD, "strict": PROFILE_STRICT}
        if profile not in names:
            raise Http404(f"no profile {profile}")
        problem = dispute_strict_problem() if profile == "strict" else None
        report = None
        if problem is None:
            report = dispute_bundle_verify(
                bundle=dispute.bundle, profile=names[profile]
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Verify {dispute.bundle.receipt_id} now ({profile})",
            "dispute": dispute,
            "original": dispute,
            "profile": profile,
            "report": report,
            "problem": problem,
            "report_json": pretty_json(report) if report is not None else "",
        }
        return TemplateResponse(request, "admin/billing/dispute/verify.html", context)

    def evidence_view(
        self, request: HttpRequest, object_id: str, evidence_pk: int
    ) -> HttpResponse:
        """Return one evidence file of the dispute as a download
        (``application/octet-stream``, never rendered by the browser), with
        its SHA-256 (lowercase hex) in the header ``X-Evidence-SHA256``."""
        dispute = self._dispute(request, object_id)
        evidence = DisputeEvidence.objects.filter(
            dispute=dispute, pk=evidence_pk
        ).first()
        if evidence is None:
            raise Http404(f"no evidence {evidence_pk} on {dispute.dispute_id}")
        response = HttpResponse(
            bytes(evidence.content), content_type="application/octet-stream"
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=evidence.name
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Evidence-SHA256"] = evidence.sha256
        return response

    def step_view(
        self, request: HttpRequest, object_id: str, step: str
    ) -> HttpResponse:
        """Ask for the confirmation of a staff step (GET), then run it
        (POST with ``confirm``) and go back to the dispute page."""
        dispute = self._dispute(request, object_id)
        if step not in STEPS:
            raise Http404(f"no step {step}")
        if not self.has_decide_permission(request):
            raise PermissionDenied
        title, button, outcome, note_required = STEPS[step]
        form = DisputeStepForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            note = form.cleaned_data["note"]
            try:
                if outcome is None:
                    dispute_review_start(dispute=dispute, actor=request.user)
                else:
                    dispute_decide(
                        dispute=dispute, outcome=outcome, note=note, actor=request.user
                    )
            except MeterproofError as exc:
                messages.error(request, f"Not done: {describe_error(exc)}")
                if exc.code == "dispute_decision_invalid":
                    return HttpResponseRedirect(request.get_full_path())
            else:
                dispute.refresh_from_db()
                done = f"Dispute {dispute.dispute_id} is now {dispute.state}."
                if outcome == "won":
                    done += (
                        f" Credit note {dispute.credit_note_id} issued."
                        if dispute.credit_note_id
                        else " No credit note was issued."
                    )
                messages.success(request, done)
            return HttpResponseRedirect(self._change_url(dispute))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "dispute": dispute,
            "original": dispute,
            "form": form,
            "button": button,
            "note_required": note_required,
            "outcome": outcome,
            "amount": format_amount(
                dispute.bundle.amount_minor, dispute.bundle.currency
            ),
            "cancel_url": self._change_url(dispute),
        }
        return TemplateResponse(request, "admin/billing/dispute/confirm.html", context)
