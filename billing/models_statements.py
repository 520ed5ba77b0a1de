"""The statement of a closed billing period (docs/PROTOCOL.md §13).

Re-exported by :mod:`billing.models`, which registers it with the app.
"""

from __future__ import annotations

from django.db import models

from billing.errors import StatementImmutable


class Statement(models.Model):
    """The signed ``vdi-billing-statement/1`` of a closed billing period.

    ``document`` is the signed statement object as compact JSON (the file's
    ``log`` member is recomputed on read, like a bundle's); the other columns
    repeat what lists and filters need. A statement is never edited after it
    is issued: saving an existing row raises ``StatementImmutable`` (the
    admin is read-only too), and the database keeps one per period.
    """

    statement_id = models.CharField(max_length=29, unique=True)
    tenant = models.ForeignKey(
        "billing.Tenant", on_delete=models.PROTECT, related_name="statements"
    )
    billing_period = models.OneToOneField(
        "billing.BillingPeriod", on_delete=models.PROTECT, related_name="statement"
    )
    period = models.CharField(max_length=7, help_text="YYYY-MM")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="Integer minor units.")
    receipts_count = models.PositiveBigIntegerField()
    leaf_hash = models.CharField(
        max_length=64,
        unique=True,
        help_text="RFC 9162 leaf hash of JCS(statement) (lowercase hex).",
    )
    document = models.TextField(help_text="The signed statement object (JSON).")
    closed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-closed_at", "-id"]
        indexes = [
            # The tenant's statement list, newest first by (closed_at, id).
            models.Index(
                fields=["tenant", "closed_at", "id"], name="statement_tenant_list_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period"], name="statement_unique_per_period"
            ),
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        """Insert the row; an issued statement is never updated.

        Raises:
            StatementImmutable: the row already exists.
        """
        if not self._state.adding:
            raise StatementImmutable(
                f"statement {self.statement_id} is issued and never edited"
            )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.tenant}/{self.period})"
