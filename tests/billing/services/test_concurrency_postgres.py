"""Concurrent attests on a real PostgreSQL: the sequencer and the replay guard
hold under contention (skipped on SQLite, which serialises writers anyway)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections

from billing.models import Bundle, ReplayReservation
from billing.protocol.verify import verify_bundle
from billing.selectors import bundle_get, trust_anchors_get
from billing.services.attest import meter_events_attest
from tests.billing.support import make_event
from transparency.models import Checkpoint, LogEntry, LogState
from transparency.protocol.merkle import root_hash, verify_consistency
from transparency.selectors import consistency_proof_get

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


def test_eight_writers_leave_no_gap_and_the_right_root(
    signing_keys: Any, tenant_setup: Any
) -> None:
    """8 concurrent writers × 5 batches: contiguous indices, no duplicate, a head
    root equal to a from-scratch recomputation, every checkpoint consistent with
    the next, and every bundle verifying."""
    tenant = tenant_setup.tenant

    def writer(i: int) -> int:
        attested = 0
        for batch in range(5):
            outcomes = meter_events_attest(
                payloads=[make_event(event_id=f"w{i}-b{batch}-{k}") for k in range(4)],
                tenant=tenant,
            )
            attested += sum(o.status == "attested" for o in outcomes)
        return attested

    results = _run_threads(8, writer)
    assert results == [20] * 8, results
    indices = list(
        LogEntry.objects.order_by("leaf_index").values_list("leaf_index", flat=True)
    )
    assert indices == list(range(160))
    hashes = [
        bytes.fromhex(h)
        for h in LogEntry.objects.order_by("leaf_index").values_list(
            "leaf_hash", flat=True
        )
    ]
    state = LogState.objects.get()
    assert state.tree_size == 160 and state.root_hash == root_hash(hashes).hex()
    # Every signed checkpoint states the recomputed root of its size, and each
    # is consistent with the next (the log never signs a fork).
    checkpoints = list(Checkpoint.objects.order_by("tree_size", "id"))
    for c in checkpoints:
        assert c.root_hash == root_hash(hashes[: c.tree_size]).hex()
    for old, new in zip(checkpoints, checkpoints[1:], strict=False):
        proof, _, _ = consistency_proof_get(first=old.tree_size, second=new.tree_size)
        verify_consistency(
            old.tree_size,
            new.tree_size,
            proof,
            bytes.fromhex(old.root_hash),
            bytes.fromhex(new.root_hash),
        )
    # Every bundle's evidence verifies under the published trust anchors.
    trust = trust_anchors_get()
    for receipt_id in Bundle.objects.values_list("receipt_id", flat=True):
        assert verify_bundle(bundle_get(receipt_id=receipt_id), trust).ok


def test_duplicate_storm_attests_once(signing_keys: Any, tenant_setup: Any) -> None:
    """8 clients send the same event at once: one bundle, one leaf, no conflict."""
    event = make_event(event_id="storm")
    tenant = tenant_setup.tenant
    results = _run_threads(
        8, lambda i: meter_events_attest(payloads=[event], tenant=tenant)[0]
    )
    statuses = Counter(
        r.status if not isinstance(r, BaseException) else repr(r) for r in results
    )
    assert statuses["attested"] == 1, statuses
    assert set(statuses) <= {"attested", "replayed", "rejected"}
    for r in results:
        if r.status == "rejected":
            assert r.error.code == "attest_in_progress"
    assert LogEntry.objects.count() == 1 and Bundle.objects.count() == 1
    assert ReplayReservation.objects.get().status == "committed"


def test_racing_proof_workers_store_each_proof_once(
    signing_keys: Any, tenant_setup: Any, settings: Any
) -> None:
    """Async proving: three workers sweep the same pending bundles at once.
    Every bundle ends ``attached`` exactly once (one recorded attempt), the
    losers report ``skipped``, and every stored bundle verifies with its
    detached proof. (Workers that start late find nothing pending and report
    zeros; the ones that lose a race report ``skipped``.)"""
    from billing.services.proofs import billing_proofs_attach
    from circuits.artifacts import artifact_status
    from config.celery import app as celery_app

    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "async"
    artifact_status(refresh=True)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        outcomes = meter_events_attest(
            payloads=[make_event(event_id=f"evt_p{i}") for i in range(6)],
            tenant=tenant_setup.tenant,
        )
    finally:
        celery_app.conf.task_always_eager = eager
    assert [o.proof_status for o in outcomes] == ["pending"] * 6
    results = _run_threads(3, lambda i: billing_proofs_attach())
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r["attached"] for r in results) == 6
    assert sum(r["retrying"] + r["failed"] for r in results) == 0
    rows = list(
        Bundle.objects.values_list("receipt_id", "proof_status", "proof_attempts")
    )
    assert {(status, attempts) for _, status, attempts in rows} == {("attached", 1)}
    trust = trust_anchors_get()
    for receipt_id, _, _ in rows:
        bundle = bundle_get(receipt_id=receipt_id)
        assert "billing_proof" in bundle
        assert verify_bundle(bundle, trust).ok
