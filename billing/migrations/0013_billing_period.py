"""Billing periods and per-period sequence numbers (format ``vdi-billing/3``).

Adds the ``BillingPeriod`` table (one row per tenant and ``YYYY-MM``, the row
lock and ``last_number`` counter of docs/PROTOCOL.md §10) and two nullable
bundle columns, ``period`` (``""`` for existing rows) and ``sequence_number``
(``NULL`` for existing ``vdi-billing/2`` rows), with a partial unique
constraint over ``(tenant, period, sequence_number)`` where the number is
set. Add only: a previous release keeps serving (CONVENTIONS §8), it never
reads them and writes the defaults. No data is backfilled: v2 bundles stay
unnumbered.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0012_usage_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="BillingPeriod",
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
                (
                    "period",
                    models.CharField(
                        help_text="YYYY-MM (an event window).", max_length=7
                    ),
                ),
                ("last_number", models.PositiveBigIntegerField(default=0)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["tenant__slug", "period"],
            },
        ),
        migrations.AddField(
            model_name="bundle",
            name="period",
            field=models.CharField(
                blank=True,
                default="",
                help_text="vdi-billing/3: the sequence's period (YYYY-MM); empty for v2.",
                max_length=7,
            ),
        ),
        migrations.AddField(
            model_name="bundle",
            name="sequence_number",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="vdi-billing/3: the number in the tenant's period (1..N); empty for v2.",
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="bundle",
            constraint=models.UniqueConstraint(
                condition=models.Q(("sequence_number__isnull", False)),
                fields=("tenant", "period", "sequence_number"),
                name="bundle_unique_sequence_number",
                violation_error_code="sequence_number_duplicate",
            ),
        ),
        migrations.AddField(
            model_name="billingperiod",
            name="tenant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="billing_periods",
                to="billing.tenant",
            ),
        ),
        migrations.AddConstraint(
            model_name="billingperiod",
            constraint=models.UniqueConstraint(
                fields=("tenant", "period"), name="billingperiod_unique_per_tenant"
            ),
        ),
    ]
