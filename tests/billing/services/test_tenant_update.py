"""``tenant_update``: the admin's tenant edit, through a service."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from billing.models import Tenant
from billing.services.tenants import tenant_update
from tests.billing.factories import TariffFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_changes_only_the_named_fields() -> None:
    """Name and is_active change; the slug and the rest stay."""
    tenant = TenantFactory(slug="acme", name="Acme")
    tenant_update(tenant=tenant, changes={"name": "Acme Inc", "is_active": False})
    row = Tenant.objects.get(pk=tenant.pk)
    assert (row.slug, row.name, row.is_active) == ("acme", "Acme Inc", False)


def test_refuses_a_tariff() -> None:
    """A tenant's tariffs are subscriptions now: ``tariff`` is not a field
    tenant_update changes (TypeError), and nothing is subscribed."""
    tenant = TenantFactory(slug="acme")
    with pytest.raises(TypeError, match="tariff"):
        tenant_update(tenant=tenant, changes={"tariff": TariffFactory()})
    assert not tenant.subscriptions.exists()


def test_refuses_a_field_it_does_not_change() -> None:
    """The slug (the signed events' ``tenant``) is not editable: TypeError,
    nothing saved."""
    tenant = TenantFactory(slug="acme")
    with pytest.raises(TypeError, match="slug"):
        tenant_update(tenant=tenant, changes={"slug": "other"})
    assert Tenant.objects.get(pk=tenant.pk).slug == "acme"


def test_validates_before_saving() -> None:
    """An invalid value is a ValidationError and is not stored."""
    tenant = TenantFactory(name="Acme")
    with pytest.raises(ValidationError):
        tenant_update(tenant=tenant, changes={"name": "x" * 1000})
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme"
