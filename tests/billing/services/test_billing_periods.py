"""Per-tenant, per-period sequence numbers of ``vdi-billing/3`` bundles
(PROTOCOL.md §10; design D2): 1..N without gaps across metrics and batches,
none consumed by a rolled-back attest or a replay, and closed periods refused
with ``period_closed``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.errors import PeriodClosed
from billing.models import BillingPeriod, Bundle, MeterEvent, ReplayReservation, Tenant
from billing.protocol.bundle import FORMAT_V3, bundle_sequence
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from billing.services import issuance as issuance_module
from billing.services.access_log import access_log_import
from billing.services.attest import meter_event_attest, meter_events_attest
from billing.services.demo import demo_seed
from billing.services.periods import billing_period_lock
from tests.billing.factories import (
    SubscriptionFactory,
    TariffFactory,
    TariffVersionFactory,
)
from tests.billing.support import TenantSetup, make_event

pytestmark = pytest.mark.django_db

#: Older than any day of the current month, within the late-event window.
LAST_MONTH_SECONDS = 33 * 86400


def _window(age_seconds: int = 10) -> str:
    return (datetime.now(UTC) - timedelta(seconds=age_seconds)).strftime("%Y-%m")


def _numbers(tenant: Tenant, period: str) -> list[int]:
    return list(
        Bundle.objects.filter(tenant=tenant, period=period)
        .order_by("sequence_number")
        .values_list("sequence_number", flat=True)
    )


def _last_number(tenant: Tenant, period: str) -> int:
    row = BillingPeriod.objects.filter(tenant=tenant, period=period).first()
    return 0 if row is None else row.last_number


def _close(tenant: Tenant, period: str) -> BillingPeriod:
    with transaction.atomic():
        row = billing_period_lock(tenant=tenant, period=period)
        row.closed_at = timezone.now()
        row.save(update_fields=["closed_at"])
    return row


@pytest.fixture
def two_metrics(tenant_setup: TenantSetup) -> TenantSetup:
    """``acme`` subscribed to ``api_requests`` and to a ``storage_gb`` tariff."""
    storage = TariffFactory(tariff_id="storage", name="Storage", metric="storage_gb")
    TariffVersionFactory(tariff=storage, version=1, published=True)
    SubscriptionFactory(tenant=tenant_setup.tenant, tariff=TariffFactory())
    SubscriptionFactory(tenant=tenant_setup.tenant, tariff=storage)
    return tenant_setup


def test_numbers_run_one_to_n_across_metrics_and_batches(
    two_metrics: TenantSetup,
) -> None:
    """Singles and batches of two metrics share one gap-free sequence 1..N;
    each bundle's signed ``sequence`` equals its stored columns and it
    verifies; ``last_number`` is N."""
    tenant, period = two_metrics.tenant, _window()
    meter_event_attest(payload=make_event(event_id="a1"), tenant=tenant)
    meter_event_attest(
        payload=make_event(event_id="s1", metric="storage_gb"), tenant=tenant
    )
    outcomes = meter_events_attest(
        payloads=[
            make_event(
                event_id=f"b{k}", metric="storage_gb" if k % 2 else "api_requests"
            )
            for k in range(5)
        ],
        tenant=tenant,
    )
    assert [o.status for o in outcomes] == ["attested"] * 5
    # Batch order is number order.
    assert [bundle_sequence(o.bundle) for o in outcomes] == [  # type: ignore[arg-type]
        (period, n) for n in range(3, 8)
    ]
    assert _numbers(tenant, period) == list(range(1, 8))
    assert _last_number(tenant, period) == 7
    trust = trust_anchors_get()
    for row in Bundle.objects.filter(tenant=tenant):
        document = json.loads(row.document)
        assert document["format"] == FORMAT_V3
        assert bundle_sequence(document) == (row.period, row.sequence_number)
        assert verify_bundle(document, trust).ok
    assert set(
        MeterEvent.objects.filter(tenant=tenant).values_list("metric", flat=True)
    ) == {"api_requests", "storage_gb"}


def test_each_tenant_and_period_numbers_from_one(tenant_setup: TenantSetup) -> None:
    """Another tenant and another period of the same tenant start at 1."""
    acme = tenant_setup.tenant
    meter_event_attest(payload=make_event(event_id="e1"), tenant=acme)
    meter_event_attest(payload=make_event(event_id="e2"), tenant=acme)
    old = make_event(event_id="old1", age_seconds=LAST_MONTH_SECONDS)
    meter_event_attest(payload=old, tenant=acme)
    other = Tenant.objects.create(slug="globex", name="Globex")
    meter_event_attest(payload=make_event(tenant="globex", event_id="e1"), tenant=other)
    assert _numbers(acme, _window()) == [1, 2]
    assert _numbers(acme, old["window"]) == [1]
    assert _numbers(other, _window()) == [1]


def test_rolled_back_attest_consumes_no_number(tenant_setup: TenantSetup) -> None:
    """A commit transaction that fails after numbering (a squatting event
    row, a real IntegrityError) rolls the number back: the next attest takes
    it, so the sequence has no gap."""
    tenant = tenant_setup.tenant
    meter_event_attest(payload=make_event(event_id="e1"), tenant=tenant)
    event = make_event(event_id="e2")
    squatter = MeterEvent.objects.create(
        tenant=tenant,
        event_id=event["event_id"],
        window=event["window"],
        metric="api_requests",
        quantity=1,
        occurred_at=timezone.now(),
        attributes={},
        meter_kid="x",
        meter_hash="0" * 64,
    )
    with pytest.raises(IntegrityError):
        meter_event_attest(payload=event, tenant=tenant)
    assert _last_number(tenant, event["window"]) == 1
    squatter.delete()
    meter_event_attest(payload=make_event(event_id="e3"), tenant=tenant)
    meter_event_attest(payload=event, tenant=tenant)
    assert _numbers(tenant, event["window"]) == [1, 2, 3]


def test_replays_get_no_new_number(tenant_setup: TenantSetup) -> None:
    """A retried event (alone or twice in a batch) returns its bundle with
    its number; ``last_number`` does not move."""
    tenant = tenant_setup.tenant
    event = make_event(event_id="e1")
    first = meter_event_attest(payload=event, tenant=tenant)
    again = meter_event_attest(payload=event, tenant=tenant)
    assert again.status == "replayed"
    assert bundle_sequence(again.bundle) == bundle_sequence(first.bundle)  # type: ignore[arg-type]
    other = make_event(event_id="e2")
    outcomes = meter_events_attest(payloads=[other, other, event], tenant=tenant)
    assert [o.status for o in outcomes] == ["attested", "replayed", "replayed"]
    assert bundle_sequence(outcomes[1].bundle) == (event["window"], 2)  # type: ignore[arg-type]
    assert _numbers(tenant, event["window"]) == [1, 2]
    assert _last_number(tenant, event["window"]) == 2


def test_closed_period_refuses_attests(tenant_setup: TenantSetup) -> None:
    """A closed period answers ``period_closed`` (field ``event.window``),
    stores nothing and releases the reservation; a replay of a bundle
    already in it still returns that bundle."""
    tenant = tenant_setup.tenant
    first = make_event(event_id="e1")  # one body: a replay must be the same event
    before = meter_event_attest(payload=first, tenant=tenant)
    _close(tenant, _window())
    with pytest.raises(PeriodClosed) as info:
        meter_event_attest(payload=make_event(event_id="e2"), tenant=tenant)
    assert (info.value.code, info.value.field) == ("period_closed", "event.window")
    assert not MeterEvent.objects.filter(event_id="e2").exists()
    assert ReplayReservation.objects.filter(status="reserved").count() == 0
    assert _last_number(tenant, _window()) == 1
    replay = meter_event_attest(payload=first, tenant=tenant)
    assert replay.status == "replayed"
    assert bundle_sequence(replay.bundle) == bundle_sequence(before.bundle)  # type: ignore[arg-type]


def test_closed_period_refuses_only_its_items_in_a_batch(
    tenant_setup: TenantSetup,
) -> None:
    """In a batch, the events of the closed period are refused alone; the
    open period's events are attested and numbered from 1."""
    tenant = tenant_setup.tenant
    old = make_event(event_id="old", age_seconds=LAST_MONTH_SECONDS)
    _close(tenant, old["window"])
    outcomes = meter_events_attest(
        payloads=[make_event(event_id="n1"), old, make_event(event_id="n2")],
        tenant=tenant,
    )
    assert [o.status for o in outcomes] == ["attested", "rejected", "attested"]
    assert outcomes[1].error is not None and outcomes[1].error.code == "period_closed"
    assert _numbers(tenant, _window()) == [1, 2]
    assert _numbers(tenant, old["window"]) == []
    assert ReplayReservation.objects.filter(status="reserved").count() == 0


def test_period_closed_after_the_early_check_is_refused_under_the_lock(
    tenant_setup: TenantSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A period closed between the early check and the commit (here: while
    the placeholder attestations are signed) is refused by the check under
    the row lock, for its item alone; nothing of it is stored."""
    tenant = tenant_setup.tenant
    old = make_event(event_id="old", age_seconds=LAST_MONTH_SECONDS)
    real_build: Callable[..., Any] = issuance_module.build_attestation
    closed: list[str] = []

    def build_then_close(**kwargs: Any) -> Any:
        if not closed:
            closed.append(old["window"])
            BillingPeriod.objects.create(
                tenant=tenant, period=old["window"], closed_at=timezone.now()
            )
        return real_build(**kwargs)

    monkeypatch.setattr(issuance_module, "build_attestation", build_then_close)
    outcomes = meter_events_attest(
        payloads=[old, make_event(event_id="n1")], tenant=tenant
    )
    assert [o.status for o in outcomes] == ["rejected", "attested"]
    assert outcomes[0].error is not None and outcomes[0].error.code == "period_closed"
    assert not MeterEvent.objects.filter(event_id="old").exists()
    assert ReplayReservation.objects.filter(status="reserved").count() == 0
    assert _numbers(tenant, _window()) == [1]


@pytest.mark.django_db(transaction=True)
def test_billing_period_lock_creates_and_needs_a_transaction(
    tenant_setup: TenantSetup,
) -> None:
    """``billing_period_lock`` creates the open row once and refuses to run
    outside a transaction (a lock that would end at once)."""
    tenant = tenant_setup.tenant
    with pytest.raises(transaction.TransactionManagementError):
        billing_period_lock(tenant=tenant, period="2026-01")
    with transaction.atomic():
        row = billing_period_lock(tenant=tenant, period="2026-01")
        again = billing_period_lock(tenant=tenant, period="2026-01")
    assert row.pk == again.pk
    assert (row.last_number, row.closed_at) == (0, None)
    assert BillingPeriod.objects.filter(tenant=tenant).count() == 1


def test_access_log_backfill_numbers_its_bundles(signing_keys: Any) -> None:
    """The access-log backfill goes through attest: each surrogate tenant's
    bundles are numbered 1..n in their period."""
    demo_seed()
    log = Path(settings.BASE_DIR) / "data" / "access-logs" / "apache_logs"
    lines = log.read_text().split("\n")[:30]
    summary = access_log_import(lines=lines, tenant_by="ip", batch_size=8).to_json()
    assert summary["attested"] == 30
    per_period = Counter(Bundle.objects.values_list("tenant_id", "period"))
    for (tenant_id, period), count in per_period.items():
        numbers = sorted(
            Bundle.objects.filter(tenant_id=tenant_id, period=period).values_list(
                "sequence_number", flat=True
            )
        )
        assert numbers == list(range(1, count + 1))
