"""Backfill: every tenant with ``Tenant.tariff`` set gets one open-ended
subscription to that tariff, starting at 1970-01-01T00:00:00Z.

Changes no schema (a data migration, CONVENTIONS §8 step "backfill").

Why the epoch, not the earliest ``effective_from`` of the tariff's versions:
the old rule put no start on the tenant's side at all; whether an event was
attestable depended only on the tariff's published versions (and on the
late-event window, which staff backfills skip). A version published later may
start before every version that exists today (drafts can be published with
any ``effective_from``), so any start taken from today's versions could
refuse an event the old rule would have priced. The epoch precedes every
``occurred_at`` the protocol accepts, so every event attestable before stays
attestable, priced by the same version; the versions' own windows still
bound it. Tenants without a tariff get nothing: no subscription at all is the
default plan, as an empty ``tariff`` was.

Reversible: the reverse writes each tenant's backfilled tariff back into
``Tenant.tariff`` (where it is still empty) and deletes the subscriptions
this migration made (open-ended, starting at the epoch); the column was never
dropped, so the previous release reads it as before.
"""

from datetime import UTC, datetime

from django.db import migrations

#: The backfilled subscriptions' start (see the module docstring).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def subscriptions_from_tenant_tariff(apps, schema_editor):
    """Create one open-ended subscription per tenant with a tariff."""
    tenant_model = apps.get_model("billing", "Tenant")
    subscription_model = apps.get_model("billing", "Subscription")
    for tenant in tenant_model.objects.filter(tariff__isnull=False).iterator():
        subscription_model.objects.get_or_create(
            tenant_id=tenant.pk,
            tariff_id=tenant.tariff_id,
            starts_at=EPOCH,
            defaults={"ends_at": None},
        )


def tenant_tariff_from_subscriptions(apps, schema_editor):
    """Put the backfilled tariffs back into ``Tenant.tariff`` and delete the
    backfilled subscriptions."""
    tenant_model = apps.get_model("billing", "Tenant")
    subscription_model = apps.get_model("billing", "Subscription")
    backfilled = subscription_model.objects.filter(
        starts_at=EPOCH, ends_at__isnull=True
    )
    for subscription in backfilled.order_by("pk").iterator():
        tenant_model.objects.filter(
            pk=subscription.tenant_id, tariff__isnull=True
        ).update(tariff_id=subscription.tariff_id)
    backfilled.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_subscription"),
    ]

    operations = [
        migrations.RunPython(
            subscriptions_from_tenant_tariff, tenant_tariff_from_subscriptions
        ),
    ]
