"""Concurrent subscriptions on a real PostgreSQL: the tenant row lock makes
the overlap check hold under contention (skipped on SQLite, which serialises
writers anyway)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, connections

from billing.errors import SubscriptionOverlap
from billing.models import Subscription
from billing.services.subscriptions import subscription_create
from tests.billing.factories import TariffFactory, TenantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


def test_concurrent_overlapping_subscriptions_one_wins() -> None:
    """Eight threads subscribe one tenant to eight tariffs of one metric with
    overlapping windows at once: exactly one row is stored, the seven others
    get subscription_overlap."""
    tenant = TenantFactory(slug="acme")
    tariffs = [TariffFactory(tariff_id=f"plan-{i}") for i in range(8)]
    barrier = threading.Barrier(len(tariffs))
    results: list[Any] = [None] * len(tariffs)

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = subscription_create(
                tenant=tenant,
                tariff=tariffs[i],
                starts_at=datetime(2026, 1, 1 + i, tzinfo=UTC),
            )
        except BaseException as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(tariffs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    won = [r for r in results if isinstance(r, Subscription)]
    lost = [r for r in results if isinstance(r, SubscriptionOverlap)]
    assert (len(won), len(lost)) == (1, 7), results
    assert list(Subscription.objects.all()) == won
