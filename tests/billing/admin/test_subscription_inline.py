"""The Tenant admin's subscription inline: it renders, adds through
``subscription_create`` (an overlap is a message, nothing saved), and a
stored row can only be ended (through ``subscription_end``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.models import Subscription, Tenant
from tests.billing.factories import SubscriptionFactory, TariffFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _form(
    tenant: Tenant, rows: list[dict[str, str]], initial: int = 0
) -> dict[str, str]:
    """The tenant change form's POST with subscription inline ``rows``."""
    data = {
        "name": tenant.name,
        "is_active": "on",
        "subscriptions-TOTAL_FORMS": str(len(rows)),
        "subscriptions-INITIAL_FORMS": str(initial),
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "meter_keys-TOTAL_FORMS": "0",
        "meter_keys-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"subscriptions-{index}-{key}"] = value
    return data


def _new_row(tariff: Any, date: str, time: str = "00:00:00") -> dict[str, str]:
    return {
        "tariff": str(tariff.pk),
        "starts_at_0": date,
        "starts_at_1": time,
        "ends_at_0": "",
        "ends_at_1": "",
    }


def test_inline_renders_with_the_tenants_subscriptions(admin_client: Any) -> None:
    """The change page lists the subscription; the add page has no inline."""
    subscription = SubscriptionFactory(
        tenant=TenantFactory(slug="acme"), tariff=TariffFactory(tariff_id="gold")
    )
    page = admin_client.get(
        reverse("admin:billing_tenant_change", args=[subscription.tenant.pk])
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="subscriptions-TOTAL_FORMS"' in body
    assert "gold" in body
    assert 'name="tariff"' not in body  # the tenant form lost its tariff
    add = admin_client.get(reverse("admin:billing_tenant_add"))
    assert add.status_code == 200
    assert "subscriptions-TOTAL_FORMS" not in add.content.decode()


def test_inline_adds_through_the_service(admin_client: Any) -> None:
    """A new row subscribes the tenant (UTC start)."""
    tenant = TenantFactory(slug="acme")
    gold = TariffFactory(tariff_id="gold")
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]),
        _form(tenant, [_new_row(gold, "2026-01-01")]),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    subscription = Subscription.objects.get()
    assert (subscription.tenant, subscription.tariff) == (tenant, gold)
    assert subscription.starts_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_inline_overlap_is_a_message_and_saves_nothing(admin_client: Any) -> None:
    """A row overlapping a subscription of the same metric is refused with
    subscription_overlap shown as an error; nothing of the form is saved."""
    tenant = TenantFactory(slug="acme", name="Acme")
    existing = SubscriptionFactory(tenant=tenant)
    gold = TariffFactory(tariff_id="gold")
    data = _form(tenant, [_new_row(gold, "2026-01-01")])
    data["name"] = "Renamed"
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]), data, follow=True
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("[subscription_overlap]" in text for text in shown), shown
    assert list(Subscription.objects.all()) == [existing]
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme"


def test_stored_row_can_only_be_ended(admin_client: Any) -> None:
    """A stored row's tariff and start are ignored (disabled); its end is
    set through subscription_end."""
    tenant = TenantFactory(slug="acme")
    subscription = SubscriptionFactory(tenant=tenant)
    gold = TariffFactory(tariff_id="gold")
    row = {
        "id": str(subscription.pk),
        "tenant": str(tenant.pk),
        "tariff": str(gold.pk),
        "starts_at_0": "2020-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-03-01",
        "ends_at_1": "00:00:00",
    }
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]),
        _form(tenant, [row], initial=1),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    subscription.refresh_from_db()
    assert subscription.tariff.tariff_id == "api-requests"
    assert subscription.starts_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert subscription.ends_at == datetime(2026, 3, 1, tzinfo=UTC)


def test_an_ended_row_cannot_be_reopened(admin_client: Any) -> None:
    """Clearing a stored end is a form error; the end stays."""
    tenant = TenantFactory(slug="acme")
    ends_at = datetime(2026, 3, 1, tzinfo=UTC)
    subscription = SubscriptionFactory(tenant=tenant, ends_at=ends_at)
    row = {
        "id": str(subscription.pk),
        "tenant": str(tenant.pk),
        "ends_at_0": "",
        "ends_at_1": "",
    }
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]),
        _form(tenant, [row], initial=1),
    )
    assert response.status_code == 200
    assert "cannot be reopened" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.ends_at == ends_at
