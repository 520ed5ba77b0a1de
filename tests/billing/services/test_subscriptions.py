"""Subscriptions: one tariff per metric at a time, ended never extended, and
the one in force found at its boundaries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from billing.errors import SubscriptionInvalid, SubscriptionOverlap
from billing.models import Subscription
from billing.selectors import subscription_in_force
from billing.services.subscriptions import subscription_create, subscription_end
from tests.billing.factories import SubscriptionFactory, TariffFactory, TenantFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


def _tariffs() -> tuple[object, object, object]:
    """Two api_requests tariffs and one gpu_seconds tariff."""
    return (
        TariffFactory(tariff_id="basic"),
        TariffFactory(tariff_id="premium"),
        TariffFactory(tariff_id="gpu", metric="gpu_seconds"),
    )


def test_overlap_with_the_same_metric_is_refused() -> None:
    """An open subscription to ``basic`` blocks ``premium`` (same metric) from
    any later start: subscription_overlap, nothing stored."""
    basic, premium, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    subscription_create(tenant=tenant, tariff=basic, starts_at=JAN)
    with pytest.raises(SubscriptionOverlap) as caught:
        subscription_create(tenant=tenant, tariff=premium, starts_at=FEB)
    assert caught.value.code == "subscription_overlap"
    assert "basic" in caught.value.message and "api_requests" in caught.value.message
    assert tenant.subscriptions.count() == 1


def test_overlap_before_an_existing_start_is_refused() -> None:
    """A window ending after an existing start overlaps it."""
    basic, premium, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    subscription_create(tenant=tenant, tariff=basic, starts_at=FEB)
    with pytest.raises(SubscriptionOverlap):
        subscription_create(tenant=tenant, tariff=premium, starts_at=JAN, ends_at=MAR)
    with pytest.raises(SubscriptionOverlap):
        subscription_create(tenant=tenant, tariff=basic, starts_at=FEB)


def test_adjacent_windows_and_other_metrics_do_not_overlap() -> None:
    """``ends_at`` is exclusive: a plan ending at FEB and one starting at FEB
    coexist; a tariff of another metric overlaps freely; another tenant is
    independent."""
    basic, premium, gpu = _tariffs()
    tenant = TenantFactory(slug="acme")
    subscription_create(tenant=tenant, tariff=basic, starts_at=JAN, ends_at=FEB)
    subscription_create(tenant=tenant, tariff=premium, starts_at=FEB)
    subscription_create(tenant=tenant, tariff=gpu, starts_at=JAN)
    subscription_create(tenant=TenantFactory(slug="other"), tariff=basic, starts_at=JAN)
    assert tenant.subscriptions.count() == 3


def test_window_must_be_ordered_and_aware() -> None:
    """``ends_at`` not after ``starts_at`` and naive times are refused with
    subscription_invalid."""
    basic, _, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    with pytest.raises(SubscriptionInvalid) as caught:
        subscription_create(tenant=tenant, tariff=basic, starts_at=FEB, ends_at=FEB)
    assert (caught.value.code, caught.value.field) == (
        "subscription_invalid",
        "ends_at",
    )
    with pytest.raises(SubscriptionInvalid) as naive:
        subscription_create(tenant=tenant, tariff=basic, starts_at=datetime(2026, 1, 1))
    assert naive.value.field == "starts_at"
    assert not Subscription.objects.exists()


def test_database_refuses_an_unordered_window() -> None:
    """The CheckConstraint holds even for a write that skips the service."""
    basic, _, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            tenant=tenant, tariff=basic, starts_at=FEB, ends_at=JAN
        )


def test_database_refuses_a_duplicate_start() -> None:
    """One row per (tenant, tariff, starts_at), even without the service."""
    subscription = SubscriptionFactory(starts_at=JAN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            tenant=subscription.tenant, tariff=subscription.tariff, starts_at=JAN
        )


def test_end_sets_ends_at_idempotently_and_never_extends() -> None:
    """Ending at MAR then again at MAR is a no-op; earlier (FEB) moves the end;
    later (MAR again) is refused; the end may not precede the start."""
    subscription = SubscriptionFactory(starts_at=JAN)
    subscription_end(subscription=subscription, ends_at=MAR)
    subscription_end(subscription=subscription, ends_at=MAR)
    assert Subscription.objects.get().ends_at == MAR
    subscription_end(subscription=subscription, ends_at=FEB)
    assert Subscription.objects.get().ends_at == FEB
    with pytest.raises(SubscriptionInvalid, match="only end earlier"):
        subscription_end(subscription=subscription, ends_at=MAR)
    with pytest.raises(SubscriptionInvalid):
        subscription_end(subscription=subscription, ends_at=JAN)
    assert Subscription.objects.get().ends_at == FEB


def test_ending_makes_room_for_the_next_plan() -> None:
    """Switching plans: end the old one at FEB, start the new one at FEB."""
    basic, premium, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    old = subscription_create(tenant=tenant, tariff=basic, starts_at=JAN)
    subscription_end(subscription=old, ends_at=FEB)
    new = subscription_create(tenant=tenant, tariff=premium, starts_at=FEB)
    assert new.tariff == premium


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), None),
        (JAN, "basic"),
        (datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC), "basic"),
        (FEB, "premium"),
        (datetime(2030, 1, 1, tzinfo=UTC), "premium"),
    ],
)
def test_in_force_at_the_boundaries(at: datetime, expected: str | None) -> None:
    """``starts_at`` is inclusive and ``ends_at`` exclusive: at FEB the
    premium plan is in force, not basic; before JAN none."""
    basic, premium, _ = _tariffs()
    tenant = TenantFactory(slug="acme")
    subscription_create(tenant=tenant, tariff=basic, starts_at=JAN, ends_at=FEB)
    subscription_create(tenant=tenant, tariff=premium, starts_at=FEB)
    found = subscription_in_force(tenant=tenant, metric="api_requests", at=at)
    assert (found.tariff.tariff_id if found else None) == expected


def test_in_force_is_per_metric() -> None:
    """A gpu_seconds subscription does not price api_requests."""
    _, _, gpu = _tariffs()
    tenant = TenantFactory(slug="acme")
    subscription_create(tenant=tenant, tariff=gpu, starts_at=JAN)
    assert subscription_in_force(tenant=tenant, metric="api_requests", at=FEB) is None
    found = subscription_in_force(tenant=tenant, metric="gpu_seconds", at=FEB)
    assert found is not None and found.tariff == gpu
