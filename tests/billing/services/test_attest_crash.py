"""Crash and race safety of the replay guard: a request whose reservation was
taken over loses cleanly (409, nothing of it stored), and a reservation whose
holder died is taken over in seconds, not after the reservation TTL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

import billing.services.issuance as issuance_module
from billing.errors import AttestInProgress
from billing.models import Bundle, MeterEvent, ReplayReservation
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from billing.services.attest import meter_event_attest
from kernel.protocol.jcs import canonical_hash
from tests.billing.support import ATTEST, TenantSetup, make_event
from tests.support.api import assert_error
from transparency.models import LogEntry, LogNode, QueuedEntry

pytestmark = pytest.mark.django_db


def test_loser_of_an_expired_reservation_gets_409_not_500(
    tenant_setup: TenantSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Request A reserves, then stalls past the reservation TTL; request B
    (a later clock) reclaims the expired reservation and commits. A must
    answer 409 ``reservation_lost`` and store nothing: one bundle, one event,
    one log leaf, all B's."""
    event = make_event(event_id="evt_race")
    real_build = issuance_module.build_attestation
    later = timezone.now() + timedelta(
        seconds=settings.VDI_BILLING_REPLAY_RESERVE_TTL_SEC + 5
    )
    winner: dict[str, Any] = {}

    def stalled_build(**kwargs: Any) -> Any:
        # A's clock stops here, between reserve and commit; B runs meanwhile.
        if not winner:
            winner["started"] = True
            winner["outcome"] = meter_event_attest(
                payload=event, tenant=tenant_setup.tenant, now=later
            )
        return real_build(**kwargs)

    monkeypatch.setattr(issuance_module, "build_attestation", stalled_build)
    response = tenant_setup.client.post(ATTEST, event, format="json")
    assert_error(response, 409, "reservation_lost", "event.event_id")
    assert winner["outcome"].status == "attested"
    receipt = winner["outcome"].bundle["attestation"]["receipt"]["receipt_id"]
    assert list(Bundle.objects.values_list("receipt_id", flat=True)) == [receipt]
    assert MeterEvent.objects.count() == 1
    assert LogEntry.objects.count() + QueuedEntry.objects.count() == 1
    assert ReplayReservation.objects.get().status == "committed"
    # A retry of the loser gets the winner's bundle.
    monkeypatch.setattr(issuance_module, "build_attestation", real_build)
    retry = tenant_setup.client.post(ATTEST, event, format="json")
    assert retry.status_code == 200, retry.content
    assert retry.json()["attestation"]["receipt"]["receipt_id"] == receipt


def _reserve_for(
    tenant: Any, event: dict[str, Any], *, holder: int | None, ttl_seconds: int = 600
) -> ReplayReservation:
    """The row an attempt identified by ``holder`` leaves between reserving
    and committing."""
    return ReplayReservation.objects.create(
        tenant=tenant,
        event_id=event["event_id"],
        window=event["window"],
        meter_hash=canonical_hash(event),
        expires_at=timezone.now() + timedelta(seconds=ttl_seconds),
        holder=holder,
    )


def _dead_pid() -> int:
    """A process id that existed a moment ago and is gone now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    child.wait(timeout=30)
    return child.pid


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process ids")
def test_reservation_of_a_dead_process_is_taken_over_at_once(
    tenant_setup: TenantSetup,
) -> None:
    """SQLite/any backend without advisory locks: a reservation whose holder
    process no longer exists is taken over long before it expires."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL holders are advisory-lock keys (test below)")
    event = make_event(event_id="evt_dead_pid")
    _reserve_for(tenant_setup.tenant, event, holder=_dead_pid())
    outcome = meter_event_attest(payload=event, tenant=tenant_setup.tenant)
    assert outcome.status == "attested"
    row = ReplayReservation.objects.get()
    assert row.status == "committed" and row.holder == os.getpid()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process ids")
def test_reservation_of_a_live_process_waits_until_it_expires(
    tenant_setup: TenantSetup,
) -> None:
    """A live holder keeps its reservation (409 ``attest_in_progress``) until
    ``expires_at``; with the clock past it, the event is taken over."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL holders are advisory-lock keys (test below)")
    event = make_event(event_id="evt_live_pid")
    sleeper = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    try:
        _reserve_for(tenant_setup.tenant, event, holder=sleeper.pid, ttl_seconds=60)
        with pytest.raises(AttestInProgress) as info:
            meter_event_attest(payload=event, tenant=tenant_setup.tenant)
        assert info.value.code == "attest_in_progress"
        assert ReplayReservation.objects.get().status == "reserved"
        later = timezone.now() + timedelta(seconds=61)
        outcome = meter_event_attest(
            payload=event, tenant=tenant_setup.tenant, now=later
        )
        assert outcome.status == "attested"
    finally:
        sleeper.kill()
        sleeper.wait(timeout=30)


_HOLDER_SCRIPT = """
import sys, time, psycopg
dsn, key, tenant_id, event_id, window, meter_hash = sys.argv[1:7]
conn = psycopg.connect(dsn, autocommit=True)
conn.execute("SELECT pg_advisory_lock(%s)", [int(key)])
conn.execute(
    # the column keeps its first name (ReplayReservation.meter_hash)
    'INSERT INTO billing_replayreservation (tenant_id, event_id, "window", '
    "request_hash, token, status, expires_at, holder, created_at) VALUES "
    "(%s, %s, %s, %s, gen_random_uuid(), 'reserved', now() + interval '15 minutes',"
    " %s, now())",
    [int(tenant_id), event_id, window, meter_hash, int(key)],
)
print("reserved", flush=True)
time.sleep(120)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reservation_of_a_killed_worker_is_taken_over_in_seconds(
    tenant_setup: TenantSetup,
) -> None:
    """PostgreSQL: a worker process reserves (advisory lock held by its
    connection, row committed) and is SIGKILLed. While it lives, the event
    answers 409 ``attest_in_progress``; within seconds of the kill it is
    attested exactly once, long before the 15-minute expiry."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    event = make_event(event_id="evt_killed")
    params = connection.get_connection_params()
    dsn = psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in _CONNINFO_KEYS}
    )
    key = 0x5EED_0000_0000_0001
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            _HOLDER_SCRIPT,
            dsn,
            str(key),
            str(tenant_setup.tenant.pk),
            event["event_id"],
            event["window"],
            canonical_hash(event),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "reserved"
        with pytest.raises(AttestInProgress) as info:
            meter_event_attest(payload=event, tenant=tenant_setup.tenant)
        assert info.value.code == "attest_in_progress"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        if worker.stdout is not None:
            worker.stdout.close()
    killed_at = time.monotonic()
    outcome = None
    while time.monotonic() - killed_at < 10:
        try:
            outcome = meter_event_attest(payload=event, tenant=tenant_setup.tenant)
            break
        except AttestInProgress:
            time.sleep(0.2)  # the server notices the closed socket promptly
    assert outcome is not None and outcome.status == "attested"
    assert Bundle.objects.count() == 1 and MeterEvent.objects.count() == 1
    assert ReplayReservation.objects.get().status == "committed"


_CONNINFO_KEYS = {"dbname", "user", "password", "host", "port"}


def _attest_with_interrupted_sequencing(tenant_setup: TenantSetup) -> dict[str, Any]:
    """Attest one event while the sequencer fails (its node slot is taken),
    as a crash between commit and sequencing leaves it: bundle stored, leaf
    queued. Then clear the fault; no Celery beat runs afterwards."""
    LogNode.objects.create(level=0, index=0, hash=b"\x00" * 32)
    event = make_event(event_id="evt_unsequenced")
    response = tenant_setup.client.post(ATTEST, event, format="json")
    assert response.status_code == 201, response.content
    assert "log" not in response.json()
    assert QueuedEntry.objects.count() == 1 and LogEntry.objects.count() == 0
    LogNode.objects.all().delete()
    return event


def test_get_of_an_unsequenced_bundle_sequences_it(
    tenant_setup: TenantSetup,
) -> None:
    """Without beat, the next GET of a bundle whose sequencing was
    interrupted sequences its leaf and returns log evidence that verifies."""
    _attest_with_interrupted_sequencing(tenant_setup)
    receipt = Bundle.objects.get().receipt_id
    response = tenant_setup.client.get(f"/api/vdi/billing/bundles/{receipt}")
    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["log"]["leaf_index"] == 0
    assert QueuedEntry.objects.count() == 0 and LogEntry.objects.count() == 1
    assert verify_bundle(bundle, trust_anchors_get()).ok


def test_retry_of_an_unsequenced_attest_sequences_it(
    tenant_setup: TenantSetup,
) -> None:
    """Without beat, a retry of the same attest (a replay) sequences the
    queued leaf and returns the bundle with log evidence; nothing doubles."""
    event = _attest_with_interrupted_sequencing(tenant_setup)
    retry = tenant_setup.client.post(ATTEST, event, format="json")
    assert retry.status_code == 200, retry.content
    assert retry.json()["log"]["leaf_index"] == 0
    assert QueuedEntry.objects.count() == 0 and LogEntry.objects.count() == 1
    assert Bundle.objects.count() == 1
    assert verify_bundle(retry.json(), trust_anchors_get()).ok
