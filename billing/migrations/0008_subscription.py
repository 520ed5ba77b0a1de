"""Add ``Subscription``: a tenant's tariff per metric over ``[starts_at,
ends_at)``.

Adds a table only (CONVENTIONS §8, step "add"): the previous release, which
prices by ``Tenant.tariff`` and never reads this table, keeps serving.
``0009_subscription_from_tenant_tariff`` backfills it from ``Tenant.tariff``.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_meter_hash_field_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="Subscription",
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
                ("starts_at", models.DateTimeField()),
                (
                    "ends_at",
                    models.DateTimeField(
                        blank=True, help_text="Exclusive; empty = no end.", null=True
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tariff",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="subscriptions",
                        to="billing.tariff",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="subscriptions",
                        to="billing.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["tenant__slug", "starts_at", "tariff__tariff_id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "tariff", "starts_at"),
                        name="subscription_unique_start",
                        violation_error_code="subscription_overlap",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("ends_at__isnull", True),
                            ("ends_at__gt", models.F("starts_at")),
                            _connector="OR",
                        ),
                        name="subscription_window_ordered",
                        violation_error_code="subscription_window_invalid",
                    ),
                ],
            },
        ),
    ]
