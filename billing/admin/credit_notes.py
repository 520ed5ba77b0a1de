"""Admin of credit notes: a read-only list and page (the signed file), and
the bundle action that issues one through ``credit_note_issue`` after a
confirmation page (amount, reason code and text)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from billing.admin.shared import admin_link
from billing.models import Bundle, CreditNote, Tenant
from billing.protocol.credit_note import CREDIT_NOTE_REASON_CODES, MAX_REASON_TEXT_CHARS
from billing.protocol.tariff import format_amount
from billing.selectors_credit_notes import credit_note_files, credit_note_totals
from billing.services.credit_notes import (
    credit_note_issue,
    credit_note_remaining_minor,
)
from kernel.admin_helpers import ReadOnlyAdmin, describe_error, pretty_json, utc
from kernel.protocol.errors import MeterproofError

__all__ = [
    "CreditNoteAdmin",
    "CreditNoteIssueForm",
    "credit_note_issue_action",
    "credit_notes_of_bundle",
    "credit_totals_of_tenant",
]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    """Issued credit notes (never edited or deleted): amount, the original
    bundle, the period it nets into, the reason and the signed file."""

    list_display = (
        "credit_note_id",
        "tenant",
        "amount",
        "period",
        "original",
        "reason_code",
        "issued",
    )
    list_filter = ("reason_code", "period", "currency")
    search_fields = (
        "=credit_note_id",
        "=tenant__slug",
        "=bundle__receipt_id",
        "=leaf_hash",
    )
    list_select_related = ("tenant", "bundle")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-id")
    fields = (
        "credit_note_id",
        "tenant_link",
        "amount",
        "period",
        "original",
        "reason_code",
        "reason_text",
        "issued_at",
        "issued_by_label",
        "leaf_hash",
        "file_pretty",
    )
    readonly_fields = fields

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj: CreditNote) -> str:
        """The (negative) credit in major units with its currency."""
        return format_amount(obj.amount_minor, obj.currency)

    @admin.display(description="original bundle")
    def original(self, obj: CreditNote) -> str:
        """Link to the bundle the credit note corrects."""
        return admin_link(obj.bundle, obj.bundle.receipt_id)

    @admin.display(description="tenant")
    def tenant_link(self, obj: CreditNote) -> str:
        """Link to the tenant."""
        return admin_link(obj.tenant)

    @admin.display(description="issued (UTC)", ordering="issued_at")
    def issued(self, obj: CreditNote) -> str:
        """Issue time, compact UTC."""
        return utc(obj.issued_at)

    @admin.display(description="credit note file (vdi-billing-credit-note/1)")
    def file_pretty(self, obj: CreditNote) -> str:
        """The file ``meterproof verify`` checks, with current log evidence."""
        return pretty_json(credit_note_files([(obj.document, obj.leaf_hash)])[0])


class CreditNoteIssueForm(forms.Form):
    """The credit note to issue: its magnitude (positive minor units, the
    stored amount is its negation), reason code and text."""

    credit_minor = forms.IntegerField(
        min_value=1,
        label="credit (minor units, positive)",
        help_text="The amount to credit; at most what is left of the bundle.",
    )
    reason_code = forms.ChoiceField(
        choices=[(c, c) for c in CREDIT_NOTE_REASON_CODES if c != "revocation"],
        help_text="Revocations issue their credit note themselves.",
    )
    reason_text = forms.CharField(
        max_length=MAX_REASON_TEXT_CHARS, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.action(
    description="Issue a credit note for the selected bundle…",
    permissions=["credit"],
)
def credit_note_issue_action(
    modeladmin: admin.ModelAdmin[Bundle],
    request: HttpRequest,
    queryset: QuerySet[Bundle],
) -> HttpResponse | None:
    """Ask for the amount and reason of one bundle's credit note (the page
    shows what is left of the bundle and is the confirmation), then issue it
    through ``credit_note_issue`` with ``request.user``; a refusal
    (``credit_note_exceeds_original`` ...) is an error message. Needs the
    model admin's ``has_credit_permission`` (``billing.add_creditnote``)."""
    bundles = list(queryset.select_related("tenant")[:2])
    if len(bundles) != 1:
        modeladmin.message_user(
            request, "Select exactly one bundle to credit.", messages.WARNING
        )
        return None
    bundle = bundles[0]
    remaining = credit_note_remaining_minor(bundle=bundle)
    form = CreditNoteIssueForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        try:
            note = credit_note_issue(
                bundle=bundle,
                amount_minor=-form.cleaned_data["credit_minor"],
                reason_code=form.cleaned_data["reason_code"],
                reason_text=form.cleaned_data["reason_text"],
                actor=request.user,
            )
        except MeterproofError as exc:
            modeladmin.message_user(
                request, f"Not issued: {describe_error(exc)}", messages.ERROR
            )
            return None
        modeladmin.message_user(
            request,
            format_html(
                "Issued credit note {} of {} into {}.",
                admin_link(note, note.credit_note_id),
                format_amount(note.amount_minor, note.currency),
                note.period,
            ),
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": f"Issue a credit note for {bundle.receipt_id}",
        "bundle": bundle,
        "amount": format_amount(bundle.amount_minor, bundle.currency),
        "remaining_minor": remaining,
        "remaining": format_amount(remaining, bundle.currency),
        "form": form,
        "action": "credit_note_issue_action",
    }
    return TemplateResponse(request, "admin/billing/credit_note_issue.html", context)


def credit_notes_of_bundle(bundle: Bundle) -> str:
    """Return the bundle page's credit notes: one line each (link, amount,
    period, reason) and the net of the bundle, or "none"."""
    notes = list(bundle.credit_notes.order_by("issued_at", "id"))
    if not notes:
        return "none"
    (totals,) = credit_note_totals(bundle=bundle)
    lines = format_html_join(
        "",
        "<li>{} {} into {} ({}: {})</li>",
        (
            (
                admin_link(n, n.credit_note_id),
                format_amount(n.amount_minor, n.currency),
                n.period,
                n.reason_code,
                n.reason_text,
            )
            for n in notes
        ),
    )
    return format_html(
        "<ul>{}</ul>net after credits: {}",
        lines,
        format_amount(totals["net_amount_minor"], bundle.currency),
    )


def credit_totals_of_tenant(tenant: Tenant) -> str:
    """Return the tenant page's totals per currency: charges, credits (how
    many) and net, or "no bundles"."""
    totals = credit_note_totals(tenant=tenant)
    if not totals:
        return "no bundles"
    return format_html_join(
        "",
        "<div>{}: charged {}, credited {} ({} credit note(s)), net {}</div>",
        (
            (
                t["currency"],
                format_amount(t["amount_minor"], t["currency"]),
                format_amount(t["credit_amount_minor"], t["currency"]),
                t["credit_notes"],
                format_amount(t["net_amount_minor"], t["currency"]),
            )
            for t in totals
        ),
    )
