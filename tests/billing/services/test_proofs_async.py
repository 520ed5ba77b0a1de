"""Async proving (VDI_BILLING_PROOF_MODE=async): attest signs and logs at once,
a worker attaches a detached Groth16 billing_proof later, and every verifier
accepts it because it is bound by the signed public signal.

Proofs are real: the shipped ceremony artifacts and the groth16py prover.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Bundle
from billing.protocol.bundle import attestation_leaf_hash
from billing.protocol.verify import PROFILE_STRICT, verify_bundle
from billing.selectors import bundle_get, trust_anchors_get
from billing.services.attest import meter_events_attest
from billing.services.proofs import billing_proofs_attach, billing_proofs_retry
from circuits.artifacts import artifact_status
from circuits.protocol.groth16 import verify_groth16
from config.celery import app as celery_app
from tests.billing.support import TenantSetup, make_event

pytestmark = pytest.mark.django_db

ATTEST = "/api/vdi/billing/attest"
BATCH = "/api/vdi/billing/attest/batch"
VERIFY = "/api/vdi/billing/verify"


@pytest.fixture
def async_mode(settings: Any) -> Iterator[None]:
    """Binding on, async proving, and a Celery that queues instead of running
    tasks inline (no worker consumes the in-memory queue: the test plays the
    worker by calling the service)."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "async"
    artifact_status(refresh=True)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def _attest(setup: TenantSetup, event_id: str = "evt_1") -> dict[str, Any]:
    response = setup.client.post(ATTEST, make_event(event_id=event_id), format="json")
    assert response.status_code == 201, response.content
    # a plain str: WSGI servers refuse anything else (str subclasses included)
    assert type(response["Billing-Proof-Status"]) is str
    assert response["Billing-Proof-Status"] == "pending"
    return response.json()


def _verify(setup: TenantSetup, bundle: dict[str, Any]) -> dict[str, Any]:
    response = setup.client.post(VERIFY, bundle, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def test_pending_then_attached_proof_verifies_in_both_backends(
    async_mode: None, tenant_setup: TenantSetup, settings: Any
) -> None:
    """Attest answers at once with a signed, logged bundle and no proof; the
    worker attaches a detached proof; the stored bundle then verifies with it
    (fast backend over the API, py_ecc reference on its own), and the signed
    attestation and its log leaf never changed."""
    first = _attest(tenant_setup)
    receipt_id = first["attestation"]["receipt"]["receipt_id"]
    assert "billing_proof" not in first and "billing_proof" not in first["attestation"]
    assert "log" in first
    status = tenant_setup.client.get(f"/api/vdi/billing/bundles/{receipt_id}/proof")
    assert status.json()["proof_status"] == "pending"
    assert status.json()["billing_proof"] is None

    report = _verify(tenant_setup, first)
    assert report["ok"] is True
    assert _check(report, "billing_proof")["status"] == "skip"
    strict = verify_bundle(first, trust_anchors_get(), profile=PROFILE_STRICT)
    failed = {c.name: c.code for c in strict.checks if c.status == "fail"}
    assert failed["billing_proof"] == "billing_proof_missing"

    assert billing_proofs_attach(receipt_ids=[receipt_id]) == {
        "attached": 1,
        "retrying": 0,
        "failed": 0,
        "skipped": 0,
    }
    bundle = tenant_setup.client.get(f"/api/vdi/billing/bundles/{receipt_id}").json()
    assert bundle["attestation"] == first["attestation"]
    assert (
        bundle["log"]["leaf_hash"] == attestation_leaf_hash(first["attestation"]).hex()
    )
    proof = bundle["billing_proof"]
    signals = first["attestation"]["billing_commitments"]["public_signals"]
    assert proof["public_signals"] == signals
    report = _verify(tenant_setup, bundle)
    assert report["ok"] is True, report
    binding = report["incircuit_binding_verification"]
    assert (binding["ok"], binding["attachment"]) == (True, "detached")
    vkey = json.loads(
        (Path(settings.VDI_CIRCUIT_ARTIFACTS_DIR) / "verification_key.json").read_text()
    )
    assert verify_groth16(vkey, proof["proof"], signals, backend="reference")
    status = tenant_setup.client.get(
        f"/api/vdi/billing/bundles/{receipt_id}/proof"
    ).json()
    assert status["proof_status"] == "attached"
    assert status["billing_proof"] == proof and status["attached_at"]


def test_detached_proof_does_not_bind_another_charge(
    async_mode: None, tenant_setup: TenantSetup
) -> None:
    """A detached proof moved to another bundle, or kept with a changed
    charge, fails the billing_proof check: the proof is bound by the signed
    public signal, not by where it sits."""
    a = _attest(tenant_setup, "evt_a")["attestation"]["receipt"]["receipt_id"]
    b = _attest(tenant_setup, "evt_b")["attestation"]["receipt"]["receipt_id"]
    assert billing_proofs_attach()["attached"] == 2
    bundle_a, bundle_b = bundle_get(receipt_id=a), bundle_get(receipt_id=b)
    swapped = copy.deepcopy(bundle_a)
    swapped["billing_proof"] = bundle_b["billing_proof"]
    report = _verify(tenant_setup, swapped)
    assert report["ok"] is False
    assert _check(report, "billing_proof")["code"] == "binding_public_signal_mismatch"
    both = copy.deepcopy(bundle_a)
    both["attestation"]["billing_proof"] = both["billing_proof"]
    assert _check(_verify(tenant_setup, both), "bundle_format")["status"] == "fail"


def test_failed_attempts_end_in_failed_and_staff_can_retry(
    async_mode: None,
    tenant_setup: TenantSetup,
    settings: Any,
    tmp_path: Path,
) -> None:
    """While the artifacts do not match their manifest, every attempt is
    recorded with its error; after VDI_BILLING_PROOF_MAX_ATTEMPTS the bundle
    is failed; the admin retry action re-queues it and, with the artifacts
    fixed, the proof is attached."""
    settings.VDI_BILLING_PROOF_MAX_ATTEMPTS = 2
    receipt_id = _attest(tenant_setup)["attestation"]["receipt"]["receipt_id"]
    good_dir = settings.VDI_CIRCUIT_ARTIFACTS_DIR
    broken = tmp_path / "artifacts"
    shutil.copytree(good_dir, broken)
    zkey = broken / "apiBillingV2_final.zkey"
    data = bytearray(zkey.read_bytes())
    data[len(data) // 3] ^= 0x01
    zkey.write_bytes(bytes(data))
    settings.VDI_CIRCUIT_ARTIFACTS_DIR = str(broken)
    artifact_status(refresh=True)

    assert billing_proofs_attach()["retrying"] == 1
    row = Bundle.objects.get(receipt_id=receipt_id)
    assert (row.proof_status, row.proof_attempts) == ("pending", 1)
    assert row.proof_error.startswith("artifact_manifest_mismatch: ")
    status = tenant_setup.client.get(f"/api/vdi/billing/bundles/{receipt_id}/proof")
    assert status.json()["error"] == "artifact_manifest_mismatch"  # code only
    assert billing_proofs_attach()["failed"] == 1
    row.refresh_from_db()
    assert (row.proof_status, row.proof_attempts) == ("failed", 2)
    assert billing_proofs_attach()["failed"] == 0  # failed bundles are left alone

    settings.VDI_CIRCUIT_ARTIFACTS_DIR = good_dir
    artifact_status(refresh=True)
    staff = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client = Client()
    client.force_login(staff)
    response = client.post(
        reverse("admin:billing_bundle_changelist"),
        {"action": "retry_proofs", "_selected_action": [row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.proof_status, row.proof_attempts, row.proof_error) == (
        "pending",
        0,
        "",
    )
    assert billing_proofs_attach()["attached"] == 1
    row.refresh_from_db()
    assert row.proof_status == "attached" and row.billing_proof
    changelist = client.get(
        reverse("admin:billing_bundle_changelist"), {"proof_status": "attached"}
    )
    assert receipt_id in changelist.content.decode()


def test_sweep_leaves_fresh_bundles_and_never_proves_twice(
    async_mode: None, tenant_setup: TenantSetup
) -> None:
    """The beat sweep (older_than_seconds) skips bundles younger than its
    grace period and takes older ones; an attached bundle is not proved again."""
    receipt_id = _attest(tenant_setup)["attestation"]["receipt"]["receipt_id"]
    issued = Bundle.objects.get(receipt_id=receipt_id).issued_at
    sweep = {"older_than_seconds": 60}
    assert (
        billing_proofs_attach(now=issued + timedelta(seconds=10), **sweep)["attached"]
        == 0
    )
    assert (
        billing_proofs_attach(now=issued + timedelta(seconds=120), **sweep)["attached"]
        == 1
    )
    assert billing_proofs_attach() == {
        "attached": 0,
        "retrying": 0,
        "failed": 0,
        "skipped": 0,
    }


def test_eager_celery_attaches_during_the_request(
    settings: Any, tenant_setup: TenantSetup, django_capture_on_commit_callbacks: Any
) -> None:
    """With CELERY_TASK_ALWAYS_EAGER (the development default) the task queued
    once the attest committed runs in the attesting process: the answer says
    pending (the bundle was signed without a proof), and the stored bundle
    already has it."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "async"
    artifact_status(refresh=True)
    assert celery_app.conf.task_always_eager
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = tenant_setup.client.post(ATTEST, make_event(), format="json")
    assert len(callbacks) == 1
    assert response.status_code == 201, response.content
    assert response["Billing-Proof-Status"] == "pending"
    receipt_id = response.json()["attestation"]["receipt"]["receipt_id"]
    row = Bundle.objects.get(receipt_id=receipt_id)
    assert row.proof_status == "attached"
    assert _verify(tenant_setup, bundle_get(receipt_id=receipt_id))["ok"] is True


def test_sync_batch_proves_every_event_embedded(
    settings: Any, tenant_setup: TenantSetup
) -> None:
    """Sync mode proves a batch in parallel on the prover's thread pool: each
    bundle's proof sits inside its signed attestation and is for its own
    commitments; the batch answer reports ``embedded``."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "sync"
    artifact_status(refresh=True)
    events = [make_event(event_id=f"evt_{i}", quantity=i + 1) for i in range(4)]
    body = tenant_setup.client.post(BATCH, {"events": events}, format="json").json()
    assert body["attested"] == 4, body
    for result in body["results"]:
        assert result["proof_status"] == "embedded"
        att = result["bundle"]["attestation"]
        assert (
            att["billing_proof"]["public_signals"]
            == att["billing_commitments"]["public_signals"]
        )
        assert verify_bundle(result["bundle"], trust_anchors_get()).ok
    assert set(Bundle.objects.values_list("proof_status", flat=True)) == {"embedded"}


def test_retry_service_touches_only_failed_bundles(
    async_mode: None, tenant_setup: TenantSetup
) -> None:
    """billing_proofs_retry resets failed bundles only."""
    receipt_id = _attest(tenant_setup)["attestation"]["receipt"]["receipt_id"]
    assert billing_proofs_retry(receipt_ids=[receipt_id]) == 0
    assert Bundle.objects.get(receipt_id=receipt_id).proof_status == "pending"


def test_parallel_mode_answers_with_the_detached_proof(
    settings: Any, tenant_setup: TenantSetup
) -> None:
    """VDI_BILLING_PROOF_MODE=parallel proves while the attestation is signed,
    stored and logged: the answer already carries the detached proof, the
    stored bundle is ``attached`` with the same proof, and both verify."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "parallel"
    artifact_status(refresh=True)
    event = make_event()
    response = tenant_setup.client.post(ATTEST, event, format="json")
    assert response.status_code == 201, response.content
    assert response["Billing-Proof-Status"] == "attached"
    assert type(response["Billing-Proof-Status"]) is str
    bundle = response.json()
    assert "billing_proof" not in bundle["attestation"]
    assert (
        bundle["billing_proof"]["public_signals"]
        == bundle["attestation"]["billing_commitments"]["public_signals"]
    )
    report = _verify(tenant_setup, bundle)
    assert report["ok"] is True, report
    assert report["incircuit_binding_verification"]["attachment"] == "detached"
    receipt_id = bundle["attestation"]["receipt"]["receipt_id"]
    stored = bundle_get(receipt_id=receipt_id)
    assert stored["billing_proof"] == bundle["billing_proof"]
    row = Bundle.objects.get(receipt_id=receipt_id)
    assert (row.proof_status, row.proof_attempts) == ("attached", 1)
    replay = tenant_setup.client.post(ATTEST, event, format="json")
    assert replay.status_code == 200
    assert replay["Billing-Proof-Status"] == "attached"
    assert type(replay["Billing-Proof-Status"]) is str
    assert replay.json()["billing_proof"] == bundle["billing_proof"]


def test_proof_mode_system_check(settings: Any) -> None:
    """billing.E002 names an unknown VDI_BILLING_PROOF_MODE, billing.E003 a
    batch/attempt bound below 1; billing.W002 warns about async proving with eager Celery
    tasks in production; valid settings give nothing."""
    from billing.checks import check_proof_mode

    for mode in ("sync", "parallel", "async"):
        settings.VDI_BILLING_PROOF_MODE = mode
        assert check_proof_mode() == []
    settings.VDI_BILLING_PROOF_MODE = "later"
    assert [m.id for m in check_proof_mode()] == ["billing.E002"]
    settings.VDI_BILLING_PROOF_MODE = "async"
    settings.VDI_BILLING_PROOF_BATCH = 0
    assert [m.id for m in check_proof_mode()] == ["billing.E003"]
    settings.VDI_BILLING_PROOF_MAX_ATTEMPTS = 0
    assert [m.id for m in check_proof_mode()] == ["billing.E003", "billing.E003"]
    settings.VDI_BILLING_PROOF_MAX_ATTEMPTS = 5
    settings.VDI_BILLING_PROOF_BATCH = 64
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.PRODUCTION = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert [m.id for m in check_proof_mode()] == ["billing.W002"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert check_proof_mode() == []


@pytest.mark.parametrize(
    "detached",
    [[], "proof", 7, {"proof": "x"}, {}],
    ids=["list", "string", "number", "garbage-object", "empty-object"],
)
def test_malformed_detached_proof_fails_closed(
    async_mode: None, tenant_setup: TenantSetup, detached: Any
) -> None:
    """Whatever sits in the top-level billing_proof, verification fails with a
    named check (bundle_format for a non-object, billing_proof otherwise),
    never an exception or a pass."""
    bundle = _attest(tenant_setup)
    bundle["billing_proof"] = detached
    report = _verify(tenant_setup, bundle)
    assert report["ok"] is False
    failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    assert failed == (
        ["bundle_format"] if not isinstance(detached, dict) else ["billing_proof"]
    )


def test_an_unprovable_bundle_does_not_block_the_others(
    async_mode: None, tenant_setup: TenantSetup
) -> None:
    """A stored bundle whose commitments cannot be proved (here: an element
    outside the scalar field) is recorded as a failed attempt; the bundles
    after it in the sweep are still attached."""
    first = _attest(tenant_setup, "evt_a")["attestation"]["receipt"]["receipt_id"]
    second = _attest(tenant_setup, "evt_b")["attestation"]["receipt"]["receipt_id"]
    third = _attest(tenant_setup, "evt_c")["attestation"]["receipt"]["receipt_id"]
    row = Bundle.objects.get(receipt_id=first)
    document = json.loads(row.document)
    document["attestation"]["billing_commitments"]["elements"][0] = str(2**254)
    Bundle.objects.filter(pk=row.pk).update(document=json.dumps(document))
    row = Bundle.objects.get(receipt_id=third)
    document = json.loads(row.document)
    del document["attestation"]["billing_commitments"]["public_signals"]
    Bundle.objects.filter(pk=row.pk).update(document=json.dumps(document))
    counts = billing_proofs_attach()
    assert (counts["attached"], counts["retrying"]) == (1, 2)
    assert Bundle.objects.get(receipt_id=third).proof_error.startswith("KeyError")
    assert Bundle.objects.get(receipt_id=second).proof_status == "attached"
    broken = Bundle.objects.get(receipt_id=first)
    assert (broken.proof_status, broken.proof_attempts) == ("pending", 1)
    assert broken.proof_error.startswith("groth16_prover_input_invalid")


def test_queued_ids_are_all_proved_in_rounds_and_claims_are_respected(
    async_mode: None, tenant_setup: TenantSetup
) -> None:
    """A task's receipt ids are all proved, in rounds of ``limit``; a bundle
    another worker has claimed is left alone until the claim expires."""
    ids = [
        _attest(tenant_setup, f"evt_{i}")["attestation"]["receipt"]["receipt_id"]
        for i in range(5)
    ]
    claimed = Bundle.objects.get(receipt_id=ids[0])
    Bundle.objects.filter(pk=claimed.pk).update(
        proof_claimed_until=timezone.now() + timedelta(minutes=5)
    )
    assert billing_proofs_attach(receipt_ids=ids, limit=2)["attached"] == 4
    assert Bundle.objects.get(pk=claimed.pk).proof_status == "pending"
    Bundle.objects.filter(pk=claimed.pk).update(
        proof_claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert billing_proofs_attach(receipt_ids=ids, limit=2)["attached"] == 1
    assert set(Bundle.objects.values_list("proof_status", flat=True)) == {"attached"}
    assert not Bundle.objects.filter(proof_claimed_until__isnull=False).exists()


def test_unknown_proof_mode_refuses_to_attest(
    settings: Any, tenant_setup: TenantSetup
) -> None:
    """A mistyped VDI_BILLING_PROOF_MODE never attests without proofs silently."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    settings.VDI_BILLING_PROOF_MODE = "Async"
    with pytest.raises(ImproperlyConfigured, match="MP_BILLING_PROOF_MODE"):
        meter_events_attest(payloads=[make_event()], tenant=tenant_setup.tenant)
    assert not Bundle.objects.exists()
