"""``manage.py tenant_create``: creates and subscribes idempotently, prints
JSON, and refuses bad input with a CommandError that changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Subscription, Tenant
from tests.billing.factories import SubscriptionFactory, TariffFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("tenant_create", *args, stdout=out)
    return json.loads(out.getvalue())


def test_creates_subscribes_and_is_idempotent() -> None:
    """The first run creates and subscribes; the second changes nothing and
    prints the same subscriptions with ``created: false``."""
    TariffFactory(tariff_id="gold")
    TariffFactory(tariff_id="gpu", metric="gpu_seconds")
    first = _run(
        "acme",
        "--name",
        "Acme Corp",
        "--subscribe",
        "gold",
        "gpu",
        "--starts-at",
        "2026-01-01T00:00:00Z",
    )
    expected = [
        {
            "tariff_id": "gold",
            "metric": "api_requests",
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": None,
        },
        {
            "tariff_id": "gpu",
            "metric": "gpu_seconds",
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": None,
        },
    ]
    assert first == {"tenant": "acme", "created": True, "subscriptions": expected}
    assert Tenant.objects.get(slug="acme").name == "Acme Corp"
    second = _run("acme", "--name", "Other", "--subscribe", "gold", "gpu")
    assert second == {"tenant": "acme", "created": False, "subscriptions": expected}
    assert Subscription.objects.count() == 2
    assert Tenant.objects.get(slug="acme").name == "Acme Corp"


def test_default_start_is_the_epoch() -> None:
    """Without --starts-at a subscription starts at 1970-01-01T00:00:00Z, so
    backfilled events are priced whenever the tariff has a version."""
    TariffFactory(tariff_id="gold")
    report = _run("acme", "--subscribe", "gold")
    assert report["subscriptions"][0]["starts_at"] == "1970-01-01T00:00:00Z"


def test_without_subscribe_creates_a_default_plan_tenant() -> None:
    """No --subscribe: the tenant is created with no subscription."""
    assert _run("acme") == {"tenant": "acme", "created": True, "subscriptions": []}


def test_unknown_tariff_changes_nothing() -> None:
    """An unknown tariff id is a CommandError and no tenant is created."""
    TariffFactory(tariff_id="gold")
    with pytest.raises(CommandError, match="unknown tariff 'nope'"):
        _run("acme", "--subscribe", "gold", "nope")
    assert not Tenant.objects.exists()


@pytest.mark.parametrize("slug", [".acme", "acme corp", "acme/eu", "", "x" * 129])
def test_bad_slug_is_refused(slug: str) -> None:
    """A slug that cannot be an event's tenant is a CommandError."""
    with pytest.raises(CommandError, match="bad slug"):
        _run(slug)
    assert not Tenant.objects.exists()


def test_bad_starts_at_is_refused() -> None:
    """--starts-at must be RFC 3339 UTC."""
    TariffFactory(tariff_id="gold")
    with pytest.raises(CommandError, match="bad --starts-at"):
        _run("acme", "--subscribe", "gold", "--starts-at", "2026-01-01")
    assert not Tenant.objects.exists()


def test_overlap_is_refused_and_changes_nothing() -> None:
    """A tariff of a metric the tenant already has in force is refused
    (subscription_overlap) and nothing of the run is stored."""
    existing = SubscriptionFactory(tenant=TenantFactory(slug="acme"))
    TariffFactory(tariff_id="gold")
    TariffFactory(tariff_id="gpu", metric="gpu_seconds")
    with pytest.raises(CommandError, match=r"\[subscription_overlap\]"):
        _run("acme", "--subscribe", "gpu", "gold")
    assert list(Subscription.objects.all()) == [existing]


def test_a_new_subscription_after_an_ended_one() -> None:
    """A tariff whose subscription ended before --starts-at is subscribed
    again from then on."""
    tariff = TariffFactory(tariff_id="gold")
    SubscriptionFactory(
        tenant=TenantFactory(slug="acme"),
        tariff=tariff,
        ends_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    report = _run("acme", "--subscribe", "gold", "--starts-at", "2026-02-01T00:00:00Z")
    assert [s["starts_at"] for s in report["subscriptions"]] == [
        "1970-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    ]
