"""Credit notes (``vdi-billing-credit-note/1``, docs/PROTOCOL.md §12).

Adds the ``CreditNote`` table only (no column elsewhere, no data): the
previous release keeps serving (CONVENTIONS §8). Numbered 0015 for issue 12's
merge (0014 is the statement's); it depends on ``0014_statement``.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0014_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("credit_note_id", models.CharField(max_length=27, unique=True)),
                (
                    "period",
                    models.CharField(
                        help_text="YYYY-MM: the billing period it nets into.",
                        max_length=7,
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                (
                    "amount_minor",
                    models.BigIntegerField(help_text="Negative, minor units."),
                ),
                ("reason_code", models.CharField(max_length=32)),
                ("reason_text", models.TextField(blank=True)),
                (
                    "leaf_hash",
                    models.CharField(
                        help_text="RFC 9162 leaf hash of the signed credit note (lowercase hex).",
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "document",
                    models.TextField(
                        help_text="The signed credit_note object as compact JSON; the file's log evidence is recomputed on read."
                    ),
                ),
                ("issued_at", models.DateTimeField()),
                (
                    "issued_by_label",
                    models.CharField(
                        help_text="actor's username at the time, or 'system'",
                        max_length=150,
                    ),
                ),
                (
                    "bundle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="billing.bundle",
                    ),
                ),
                (
                    "issued_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="billing.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["-issued_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["tenant", "issued_at", "id"], name="creditnote_list_idx"
                    ),
                    models.Index(
                        fields=["tenant", "period"], name="creditnote_period_idx"
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_minor__lt", 0)),
                        name="creditnote_amount_negative",
                        violation_error_code="credit_note_amount_invalid",
                    )
                ],
            },
        ),
    ]
