"""Indexes for the tenant usage API (``GET /api/vdi/billing/usage``).

Adds indexes only (no column, no data): ``meterevent_usage_idx`` on
``(tenant, metric, occurred_at, quantity)`` is the range scan the GROUP BY
reads, and ``bundle_usage_idx`` on ``(meter_event, amount_minor, currency)``
gives each event's amount without reading the bundle row and its JSON. A
previous release keeps serving (CONVENTIONS §8): it never reads them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_bundle_tenant_list_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="bundle",
            index=models.Index(
                fields=["meter_event", "amount_minor", "currency"],
                name="bundle_usage_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="meterevent",
            index=models.Index(
                fields=["tenant", "metric", "occurred_at", "quantity"],
                name="meterevent_usage_idx",
            ),
        ),
    ]
