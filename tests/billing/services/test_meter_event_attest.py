"""The crash-safe replay guard and batch attestation (DESIGN.md "Replay guard")."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from billing.errors import AttestInProgress, ReplayConflict
from billing.keyring import get_keyring
from billing.models import Bundle, MeterEvent, ReplayReservation
from billing.protocol.verify import verify_bundle
from billing.selectors import bundle_get, trust_anchors_get
from billing.services.attest import meter_event_attest, meter_events_attest
from billing.services.replay import reservations_reclaim_expired
from kernel.protocol.jcs import canonical_hash
from tests.billing.support import TenantSetup, make_event
from transparency.models import LogEntry, LogNode, QueuedEntry
from transparency.protocol.merkle import root_hash
from transparency.services import log_tick

pytestmark = pytest.mark.django_db


def _reserve_as_crashed(
    tenant: Any, event: dict[str, Any], *, expired: bool
) -> ReplayReservation:
    """Leave the row a worker that crashed mid-attest would leave behind."""
    now = timezone.now()
    return ReplayReservation.objects.create(
        tenant=tenant,
        event_id=event["event_id"],
        window=event["window"],
        meter_hash=canonical_hash(event),
        expires_at=now - timedelta(seconds=1)
        if expired
        else now + timedelta(minutes=10),
    )


def test_expired_reservation_is_reclaimed(tenant_setup: TenantSetup) -> None:
    """After a crash, the same event can be attested once its reservation expired."""
    event = make_event()
    _reserve_as_crashed(tenant_setup.tenant, event, expired=True)
    outcome = meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert outcome.status == "attested"
    row = ReplayReservation.objects.get()
    assert row.status == "committed" and row.committed_at is not None


def test_live_reservation_means_in_progress(tenant_setup: TenantSetup) -> None:
    """A reservation still within its TTL belongs to an in-flight attest: retry later."""
    event = make_event()
    _reserve_as_crashed(tenant_setup.tenant, event, expired=False)
    with pytest.raises(AttestInProgress) as info:
        meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert info.value.code == "attest_in_progress"
    assert LogEntry.objects.count() == 0


def test_live_reservation_with_other_body_is_conflict(
    tenant_setup: TenantSetup,
) -> None:
    """An in-flight reservation for another body is a replay conflict."""
    event = make_event(quantity=1)
    _reserve_as_crashed(tenant_setup.tenant, event, expired=False)
    with pytest.raises(ReplayConflict):
        meter_event_attest(payload=make_event(quantity=2), tenant=tenant_setup.tenant)


def test_reclaim_task_deletes_only_expired_reserved_rows(
    tenant_setup: TenantSetup,
) -> None:
    """The periodic reclaim removes expired reservations, never committed ones."""
    meter_event_attest(payload=make_event(event_id="done"), tenant=tenant_setup.tenant)
    _reserve_as_crashed(
        tenant_setup.tenant, make_event(event_id="crashed"), expired=True
    )
    _reserve_as_crashed(
        tenant_setup.tenant, make_event(event_id="inflight"), expired=False
    )
    assert reservations_reclaim_expired() == 1
    assert set(ReplayReservation.objects.values_list("event_id", flat=True)) == {
        "done",
        "inflight",
    }


def test_storage_failure_releases_reservations_and_writes_nothing(
    tenant_setup: TenantSetup,
) -> None:
    """If the commit transaction fails (here: a meter event row with the same
    key already exists without a reservation, a real IntegrityError), the
    reservation is released and no queued leaf, event or bundle remains; the
    same event then attests cleanly."""
    event = make_event()
    squatter = MeterEvent.objects.create(
        tenant=tenant_setup.tenant,
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
        meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert ReplayReservation.objects.count() == 0
    assert (
        QueuedEntry.objects.count() == 0
        and LogEntry.objects.count() == 0
        and MeterEvent.objects.count() == 1
        and Bundle.objects.count() == 0
    )
    squatter.delete()
    assert (
        meter_event_attest(payload=event, tenant=tenant_setup.tenant).status
        == "attested"
    )


def test_sequencing_failure_keeps_the_attested_event_queued(
    tenant_setup: TenantSetup,
) -> None:
    """The event commits before sequencing: if the sequencer fails (here: the
    log's node slot is already taken), the bundle comes back without log
    evidence and its leaf stays queued; the next sequencing round logs it and
    a read then carries evidence that verifies."""
    LogNode.objects.create(level=0, index=0, hash=b"\x00" * 32)
    outcome = meter_event_attest(payload=make_event(), tenant=tenant_setup.tenant)
    assert outcome.status == "attested" and outcome.bundle is not None
    assert "log" not in outcome.bundle
    assert QueuedEntry.objects.count() == 1 and LogEntry.objects.count() == 0
    assert ReplayReservation.objects.get().status == "committed"
    LogNode.objects.all().delete()
    keyring = get_keyring()
    assert log_tick(
        signer=keyring.log_signer, origin=keyring.log_origin, interval_seconds=60
    ) == {"sequenced": 1, "resigned": 0}
    receipt = outcome.bundle["attestation"]["receipt"]["receipt_id"]
    bundle = bundle_get(receipt_id=receipt)
    assert bundle["log"]["leaf_index"] == 0
    assert verify_bundle(bundle, trust_anchors_get()).ok


def test_batch_outcomes_are_per_event(tenant_setup: TenantSetup) -> None:
    """One batch mixes new, repeated, conflicting and invalid events; each gets its
    own outcome and the valid ones share one checkpoint."""
    good = [make_event(event_id=f"b{i}", quantity=i) for i in range(5)]
    payloads: list[Any] = [
        *good,
        dict(good[0]),  # exact repeat inside the batch
        {**good[1], "quantity": 99},  # same id, other body
        {**make_event(event_id="bad"), "quantity": -1},
        "not an object",
    ]
    outcomes = meter_events_attest(payloads=payloads, tenant=tenant_setup.tenant)
    statuses = [o.status for o in outcomes]
    assert statuses == ["attested"] * 5 + [
        "replayed",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert outcomes[5].bundle == outcomes[0].bundle
    assert outcomes[6].error.code == "replay_conflict"
    assert (
        outcomes[7].error.code == "meter_event_invalid"
        and outcomes[7].error.field == "quantity"
    )
    assert outcomes[8].error.code == "meter_event_invalid"
    checkpoints = {o.bundle["log"]["checkpoint"] for o in outcomes[:5]}
    assert len(checkpoints) == 1
    trust = trust_anchors_get()
    assert all(verify_bundle(o.bundle, trust).ok for o in outcomes[:5])
    assert [
        o.bundle["attestation"]["charge"]["amount_minor"] for o in outcomes[:5]
    ] == [0, 2, 4, 6, 8]


def test_the_answer_is_the_stored_bundle_with_its_log(
    tenant_setup: TenantSetup,
) -> None:
    """Attest answers the bundle it stored (built once), with the same ``log``
    member a later read produces, and a retry answers the same bundle."""
    event = make_event()
    outcome = meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert outcome.status == "attested" and "log" in outcome.bundle
    receipt_id = outcome.bundle["attestation"]["receipt"]["receipt_id"]
    stored = json.loads(Bundle.objects.get(receipt_id=receipt_id).document)
    assert stored == {k: v for k, v in outcome.bundle.items() if k != "log"}
    assert bundle_get(receipt_id=receipt_id) == outcome.bundle
    retry = meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert retry.status == "replayed" and retry.bundle == outcome.bundle


def test_log_is_contiguous_and_matches_recomputed_root(
    tenant_setup: TenantSetup,
) -> None:
    """After several batches the stored root equals a from-scratch RFC 9162 root."""
    for batch in range(4):
        meter_events_attest(
            payloads=[
                make_event(event_id=f"c{batch}-{i}") for i in range(batch * 3 + 1)
            ],
            tenant=tenant_setup.tenant,
        )
    entries = list(
        LogEntry.objects.order_by("leaf_index").values_list("leaf_index", "leaf_hash")
    )
    assert [i for i, _ in entries] == list(range(len(entries)))
    from transparency.models import LogState

    assert (
        LogState.objects.get().root_hash
        == root_hash([bytes.fromhex(h) for _, h in entries]).hex()
    )


def test_log_rejects_a_gap_at_the_database(tenant_setup: TenantSetup) -> None:
    """The contiguity constraint refuses a leaf whose predecessor is not leaf_index - 1."""
    meter_event_attest(payload=make_event(), tenant=tenant_setup.tenant)
    from django.db import transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        LogEntry.objects.create(
            leaf_index=5, previous_id=0, leaf_hash="00" * 32, data="{}"
        )


def test_backfill_skips_the_window_and_is_recorded(tenant_setup: TenantSetup) -> None:
    """Staff backfills accept old events and mark receipt.backfilled."""
    old = make_event(age_seconds=400 * 86400)
    outcome = meter_events_attest(payloads=[old], backfill=True)[0]
    assert outcome.status == "attested"
    assert outcome.bundle["attestation"]["receipt"]["backfilled"] is True
    assert verify_bundle(outcome.bundle, trust_anchors_get()).ok
