"""Demo data: a tenant and a published tariff that covers the sample log."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from billing.models import Tariff, TariffVersion, Tenant
from billing.services.subscriptions import subscription_create
from billing.services.tariffs import (
    tariff_create,
    tariff_version_create,
    tariff_version_publish,
)
from billing.services.tenants import tenant_create

#: 0.02 USD per request (unit_amount_decimal is in cents).
DEMO_PRICING = {"model": "per_unit", "unit_amount_decimal": "2"}
DEMO_EFFECTIVE_FROM = datetime(2015, 1, 1, tzinfo=UTC)
#: The audit trail's actor for the demo data.
DEMO_ACTOR = "system:demo"


@transaction.atomic
def demo_seed(
    *, tariff_id: str = "api-requests", tenant_slug: str = "demo"
) -> tuple[Tenant, TariffVersion]:
    """Create (idempotently) the demo tariff, published from 2015-01-01, and the
    demo tenant, subscribed to it from that date; return them."""
    tariff = Tariff.objects.filter(tariff_id=tariff_id).first() or tariff_create(
        tariff_id=tariff_id,
        metric="api_requests",
        currency="USD",
        name="API requests",
        actor=DEMO_ACTOR,
    )
    version = (
        tariff.versions.filter(status=TariffVersion.Status.PUBLISHED)
        .order_by("version")
        .first()
    )
    if version is None:
        draft = tariff_version_create(
            tariff=tariff,
            pricing=DEMO_PRICING,
            effective_from=DEMO_EFFECTIVE_FROM,
            actor=DEMO_ACTOR,
        )
        version = tariff_version_publish(version=draft, actor=DEMO_ACTOR)
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        tenant = tenant_create(slug=tenant_slug, name="Demo tenant", actor=DEMO_ACTOR)
        subscription_create(
            tenant=tenant,
            tariff=tariff,
            starts_at=DEMO_EFFECTIVE_FROM,
            actor=DEMO_ACTOR,
        )
    return tenant, version
