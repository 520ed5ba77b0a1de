"""Add ``bundle_tenant_list_idx`` on ``Bundle (tenant, issued_at, id)``: the
tenant's bundle list (``GET /api/vdi/billing/bundles``) reads it backwards,
newest first, from a cursor ``(issued_at, id)``.

Schema only, additive: a previous release keeps serving (CONVENTIONS §8). The
older ``(tenant, issued_at)`` index is a prefix of this one and can be dropped
in a later release.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_remove_tenant_tariff_state"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="bundle",
            index=models.Index(
                fields=["tenant", "issued_at", "id"], name="bundle_tenant_list_idx"
            ),
        ),
    ]
