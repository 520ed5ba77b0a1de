"""The attest path prices an event by the tenant's subscription in force for
its metric at ``occurred_at``; a tenant with no subscription at all is on the
default plan; one with subscriptions but none in force is refused
``no_subscription`` and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.errors import NoSubscription, NoTariffInForce
from billing.models import Bundle, MeterEvent, ReplayReservation, Subscription
from billing.services.attest import meter_events_attest
from billing.services.subscriptions import subscription_create
from tests.billing.factories import (
    TariffVersionFactory,
    TenantFactory,
    default_tariff,
)
from transparency.models import LogEntry

pytestmark = pytest.mark.django_db

JUNE = datetime(2015, 6, 1, tzinfo=UTC)


def _event(event_id: str, occurred_at: str, metric: str = "api_requests") -> dict:
    """A bare event of tenant ``acme``, quantity 3."""
    return {
        "tenant": "acme",
        "event_id": event_id,
        "window": occurred_at[:7],
        "metric": metric,
        "quantity": 3,
        "occurred_at": occurred_at,
        "attributes": {},
    }


def _attest(*events: dict) -> list[Any]:
    return meter_events_attest(payloads=list(events), backfill=True, prove=False)


@pytest.fixture
def plans(signing_keys: Any) -> dict[str, Any]:
    """The default tariff (2 per unit) and ``premium`` (5 per unit), both
    api_requests, published from 2015-01-01; tenant ``acme``."""
    premium = TariffVersionFactory(
        tariff__tariff_id="premium",
        version=1,
        pricing={"model": "per_unit", "unit_amount_decimal": "5"},
        published=True,
    ).tariff
    return {
        "default": default_tariff(),
        "premium": premium,
        "tenant": TenantFactory(slug="acme"),
    }


def test_priced_by_the_subscription(plans: dict[str, Any]) -> None:
    """Subscribed to premium: the bundle is priced by premium's version."""
    TenantFactory(slug="acme", subscribe=plans["premium"])
    (outcome,) = _attest(_event("e1", "2015-05-17T10:00:00Z"))
    assert outcome.status == "attested", outcome
    bundle = Bundle.objects.get()
    assert bundle.tariff_version.tariff.tariff_id == "premium"
    assert bundle.amount_minor == 15


def test_switching_plans_prices_each_side_of_the_switch(
    plans: dict[str, Any],
) -> None:
    """Default tariff until June 1st (exclusive), premium from then on: one
    batch, each event priced by the plan in force at its occurred_at."""
    tenant = plans["tenant"]
    subscription_create(
        tenant=tenant,
        tariff=plans["default"],
        starts_at=datetime(2015, 1, 1, tzinfo=UTC),
        ends_at=JUNE,
    )
    subscription_create(tenant=tenant, tariff=plans["premium"], starts_at=JUNE)
    outcomes = _attest(
        _event("may", "2015-05-31T23:59:59Z"), _event("june", "2015-06-01T00:00:00Z")
    )
    assert [o.status for o in outcomes] == ["attested", "attested"]
    priced = {
        b.meter_event.event_id: (b.tariff_version.tariff.tariff_id, b.amount_minor)
        for b in Bundle.objects.select_related("meter_event", "tariff_version__tariff")
    }
    assert priced == {"may": ("api-requests", 6), "june": ("premium", 15)}


def test_unsubscribed_tenant_is_on_the_default_plan(plans: dict[str, Any]) -> None:
    """No subscription at all (e.g. an access-log surrogate): the default
    tariff prices the event, as before subscriptions existed."""
    assert not Subscription.objects.exists()
    (outcome,) = _attest(_event("e1", "2015-05-17T10:00:00Z"))
    assert outcome.status == "attested", outcome
    assert Bundle.objects.get().tariff_version.tariff.tariff_id == "api-requests"


def test_no_subscription_in_force_is_refused_and_stores_nothing(
    plans: dict[str, Any],
) -> None:
    """Subscribed from June only: a May event is refused no_subscription
    (field event.occurred_at, naming metric and time), and the tenant does
    not fall back to the default plan; no reservation, bundle, meter event
    or log leaf is written."""
    subscription_create(tenant=plans["tenant"], tariff=plans["premium"], starts_at=JUNE)
    (outcome,) = _attest(_event("e1", "2015-05-17T10:00:00Z"))
    assert outcome.status == "rejected"
    error = outcome.error
    assert isinstance(error, NoSubscription) and isinstance(error, NoTariffInForce)
    assert (error.code, error.field) == ("no_subscription", "event.occurred_at")
    assert "'api_requests'" in error.message
    assert "2015-05-17T10:00:00Z" in error.message
    assert ReplayReservation.objects.count() == 0
    assert Bundle.objects.count() == 0
    assert MeterEvent.objects.count() == 0
    assert LogEntry.objects.count() == 0


def test_metric_without_subscription_is_refused_on_metric(
    plans: dict[str, Any],
) -> None:
    """Subscribed to api_requests only: a gpu_seconds event is refused
    no_subscription on event.metric; the batch's other event is attested."""
    TenantFactory(slug="acme", subscribe=plans["premium"])
    gpu, ok = _attest(
        _event("gpu", "2015-05-17T10:00:00Z", metric="gpu_seconds"),
        _event("ok", "2015-05-17T10:00:00Z"),
    )
    assert gpu.status == "rejected"
    assert (gpu.error.code, gpu.error.field) == ("no_subscription", "event.metric")
    assert ok.status == "attested"
    assert Bundle.objects.get().meter_event.event_id == "ok"


def test_one_subscription_query_per_tenant_per_batch(plans: dict[str, Any]) -> None:
    """A batch of five events of one tenant reads its subscriptions once."""
    TenantFactory(slug="acme", subscribe=plans["premium"])
    with CaptureQueriesContext(connection) as queries:
        outcomes = _attest(
            *(_event(f"e{i}", f"2015-05-{10 + i}T10:00:00Z") for i in range(5))
        )
    assert [o.status for o in outcomes] == ["attested"] * 5
    table = Subscription._meta.db_table
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and table in q["sql"]
    ]
    assert len(reads) == 1, reads
