"""Add ``bundle_tenant_list_idx`` on ``Bundle (tenant, issued_at, id)``: the
tenant's bundle list (``GET /api/vdi/billing/bundles``) reads it backwards,
newest first, from a cursor ``(issued_at, id)``.

Schema only, additive: a previous release keeps serving (CONVENTIONS §8). The
older ``(tenant, issued_at)`` index is a prefix of this one and can be dropped
in a later release. Numbered 0011 on purpose (0008-0010 belong to another
change of issue 12); the integrator re-chains ``dependencies`` after them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_meter_hash_field_names"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="bundle",
            index=models.Index(
                fields=["tenant", "issued_at", "id"], name="bundle_tenant_list_idx"
            ),
        ),
    ]
