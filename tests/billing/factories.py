"""factory_boy factories for billing rows (built through real services where
state matters: published tariffs are sealed by ``tariff_version_publish``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import factory
from factory.django import DjangoModelFactory

from billing.models import Tariff, TariffVersion, Tenant
from billing.services.tariffs import tariff_version_publish


class TariffFactory(DjangoModelFactory):
    """A USD ``api_requests`` tariff."""

    class Meta:
        model = Tariff
        django_get_or_create = ("tariff_id",)

    tariff_id = "api-requests"
    name = "API requests"
    metric = "api_requests"
    currency = "USD"


class TariffVersionFactory(DjangoModelFactory):
    """A draft version; ``published=True`` seals it through the service."""

    class Meta:
        model = TariffVersion

    tariff = factory.SubFactory(TariffFactory)
    version = factory.Sequence(lambda n: n + 1)
    pricing = factory.LazyFunction(
        lambda: {"model": "per_unit", "unit_amount_decimal": "2"}
    )
    rounding = "half_up"
    effective_from = datetime(2015, 1, 1, tzinfo=UTC)
    effective_to = None

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> TariffVersion:
        published = kwargs.pop("published", False)
        obj = super()._create(model_class, *args, **kwargs)
        if published:
            obj = tariff_version_publish(version=obj)
        return obj


class TenantFactory(DjangoModelFactory):
    """An active tenant on the default tariff."""

    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug)
