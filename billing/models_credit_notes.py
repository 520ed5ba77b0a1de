"""The credit-note model (a module of its own: ``billing/models.py`` is at
its size limit). Loaded with the app's models: ``billing.models`` imports it;
foreign keys name their models by string, so this module imports no other
billing model (no import cycle)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.errors import CreditNoteImmutable


class CreditNote(models.Model):
    """A signed ``vdi-billing-credit-note/1`` credit note: a negative amount
    correcting one bundle, netted into ``period``'s statement
    (docs/PROTOCOL.md §12).

    Issued only by ``billing.services.credit_notes.credit_note_issue`` and
    never edited or deleted afterwards (both refused here; the admin is
    read-only). ``document`` is the signed ``credit_note`` object as compact
    JSON; its ``log`` evidence is recomputed on read like a bundle's.
    ``amount_minor`` is negative (integer minor units of ``currency``).
    """

    credit_note_id = models.CharField(max_length=27, unique=True)
    tenant = models.ForeignKey(
        "billing.Tenant", on_delete=models.PROTECT, related_name="credit_notes"
    )
    bundle = models.ForeignKey(
        "billing.Bundle", on_delete=models.PROTECT, related_name="credit_notes"
    )
    period = models.CharField(
        max_length=7, help_text="YYYY-MM: the billing period it nets into."
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="Negative, minor units.")
    reason_code = models.CharField(max_length=32)
    reason_text = models.TextField(blank=True)
    leaf_hash = models.CharField(
        max_length=64,
        unique=True,
        help_text="RFC 9162 leaf hash of the signed credit note (lowercase hex).",
    )
    document = models.TextField(
        help_text="The signed credit_note object as compact JSON; the file's "
        "log evidence is recomputed on read."
    )
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_by_label = models.CharField(
        max_length=150, help_text="actor's username at the time, or 'system'"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            # The tenant's credit-note list: newest first by (issued_at, id).
            models.Index(
                fields=["tenant", "issued_at", "id"], name="creditnote_list_idx"
            ),
            # A statement's credit notes: by (tenant, period).
            models.Index(fields=["tenant", "period"], name="creditnote_period_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__lt=0),
                name="creditnote_amount_negative",
                violation_error_code="credit_note_amount_invalid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credit_note_id} ({self.amount_minor} {self.currency})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert the row once; a credit note is never edited.

        Raises:
            CreditNoteImmutable: the row exists already.
        """
        if not self._state.adding:
            raise CreditNoteImmutable(
                f"credit note {self.credit_note_id} is issued and never edited"
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        """Refuse: a credit note stays in the tenant's history.

        Raises:
            CreditNoteImmutable: always.
        """
        raise CreditNoteImmutable(
            f"credit note {self.credit_note_id} is issued and never deleted"
        )
