"""Remove ``Tenant.tariff`` from the model state only.

Changes no schema: the ``tariff_id`` column stays in the database, nullable,
so inserts that omit it store NULL and the previous release keeps serving
(CONVENTIONS §8). Nothing reads or writes it any more: a tenant's tariffs are
its subscriptions (backfilled by ``0009_subscription_from_tenant_tariff``).
The column, its index and its foreign key are dropped in a later release.
Reversible: the reverse puts the field back into the state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_subscription_from_tenant_tariff"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="tenant", name="tariff"),
            ],
            database_operations=[],
        ),
    ]
