"""Billing periods and per-period sequence numbers (format ``vdi-billing/3``).

Adds the ``BillingPeriod`` table (one row per tenant and ``YYYY-MM``, the row
lock and ``last_number`` counter of docs/PROTOCOL.md §10) and two bundle
columns, ``period`` (``NOT NULL DEFAULT ''`` in the database, so existing
rows and the previous release's inserts read ``""``) and ``sequence_number``
(``NULL`` for existing ``vdi-billing/2`` rows), with a partial unique
constraint over ``(tenant, period, sequence_number)`` where the number is
set. Add only: a previous release keeps serving (CONVENTIONS §8). No data is
backfilled: v2 bundles stay unnumbered.

On SQLite ``period`` is added with a plain ``ALTER TABLE ... ADD COLUMN``:
Django would otherwise rebuild the table for a NOT NULL column and drop the
``log_entry_id`` column that ``0006_remove_bundle_log_entry`` keeps in the
database until a later release.
"""

import django.db.models.deletion
from django.db import migrations, models

_PERIOD = models.CharField(
    blank=True,
    default="",
    db_default="",
    help_text="vdi-billing/3: the sequence's period (YYYY-MM); empty for v2.",
    max_length=7,
)


def _add_period_column(apps, schema_editor):
    """Add ``billing_bundle.period`` without rebuilding the table on SQLite."""
    Bundle = apps.get_model("billing", "Bundle")
    field = _PERIOD.clone()
    field.set_attributes_from_name("period")
    if schema_editor.connection.vendor == "sqlite":
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(Bundle._meta.db_table)} ADD COLUMN "
            f"{quote('period')} varchar(7) DEFAULT '' NOT NULL"
        )
    else:
        field.model = Bundle
        schema_editor.add_field(Bundle, field)


def _drop_period_column(apps, schema_editor):
    """Drop ``billing_bundle.period`` (the reverse of ``_add_period_column``)."""
    # The historical model here predates the field (RunPython keeps the
    # state of SeparateDatabaseAndState's database side): use its definition.
    Bundle = apps.get_model("billing", "Bundle")
    field = _PERIOD.clone()
    field.set_attributes_from_name("period")
    field.model = Bundle
    schema_editor.remove_field(Bundle, field)


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
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="billing_periods",
                        to="billing.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["tenant__slug", "period"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "period"),
                        name="billingperiod_unique_per_tenant",
                    )
                ],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="bundle", name="period", field=_PERIOD),
            ],
            database_operations=[
                migrations.RunPython(_add_period_column, _drop_period_column),
            ],
        ),
        migrations.AddField(
            model_name="bundle",
            name="sequence_number",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="vdi-billing/3: the number in the tenant's period (1..N); "
                "empty for v2.",
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
    ]
