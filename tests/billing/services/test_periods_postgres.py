"""Concurrent attests on a real PostgreSQL number a tenant's period without
gap or duplicate: the ``BillingPeriod`` row lock serialises the numbering
(skipped on SQLite, which serialises writers anyway)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, connections

from billing.models import BillingPeriod, Bundle
from billing.protocol.bundle import bundle_sequence
from billing.services.attest import meter_events_attest
from tests.billing.support import make_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


def _run_threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_attests_get_distinct_gap_free_numbers(
    signing_keys: Any, tenant_setup: Any
) -> None:
    """6 writers × 4 batches of 3 events, the first of each period racing to
    create its row: numbers 1..72, each once, in every stored bundle and its
    signed attestation; ``last_number`` is 72."""
    tenant = tenant_setup.tenant

    def writer(i: int) -> list[int]:
        numbers: list[int] = []
        for batch in range(4):
            outcomes = meter_events_attest(
                payloads=[make_event(event_id=f"w{i}-b{batch}-{k}") for k in range(3)],
                tenant=tenant,
            )
            for outcome in outcomes:
                assert outcome.status == "attested", outcome.error
                numbers.append(bundle_sequence(outcome.bundle)[1])  # type: ignore[arg-type,index]
        return numbers

    results = _run_threads(6, writer)
    for result in results:
        assert isinstance(result, list), result
    answered = sorted(n for result in results for n in result)
    assert answered == list(range(1, 73))
    stored = list(
        Bundle.objects.filter(tenant=tenant)
        .order_by("sequence_number")
        .values_list("sequence_number", "document")
    )
    assert [n for n, _ in stored] == list(range(1, 73))
    assert all(bundle_sequence(json.loads(doc))[1] == n for n, doc in stored)  # type: ignore[index]
    (period,) = BillingPeriod.objects.filter(tenant=tenant)
    assert period.last_number == 72
