"""Attest with the in-circuit binding on: every bundle carries a Groth16
billing_proof from the shipped ceremony artifacts, and verify checks it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from billing.models import ReplayReservation
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from circuits.artifacts import artifact_status
from circuits.protocol.groth16 import verify_groth16
from tests.billing.support import TenantSetup, make_event

pytestmark = pytest.mark.django_db

ATTEST = "/api/vdi/billing/attest"
VERIFY = "/api/vdi/billing/verify"


@pytest.fixture
def binding_on(settings: Any) -> None:
    """Turn the in-circuit binding on for one test."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    artifact_status(refresh=True)


def test_attested_bundle_carries_a_proof_that_both_backends_accept(
    binding_on: None, tenant_setup: TenantSetup
) -> None:
    """The bundle's billing_proof verifies in the API (fast backend) and, on
    its own, in the py_ecc reference backend; its public signal is the
    commitments' Poseidon signal."""
    response = tenant_setup.client.post(ATTEST, make_event(), format="json")
    assert response.status_code == 201, response.content
    bundle = response.json()
    att = bundle["attestation"]
    proof = att["billing_proof"]
    assert proof["public_signals"] == att["billing_commitments"]["public_signals"]
    manifest = json.loads(
        (
            Path(settings.VDI_CIRCUIT_ARTIFACTS_DIR) / "ARTIFACT_MANIFEST.json"
        ).read_text()
    )
    assert proof["vkey_hash"] == manifest["vkey_hash"]
    vkey = json.loads(
        (Path(settings.VDI_CIRCUIT_ARTIFACTS_DIR) / "verification_key.json").read_text()
    )
    assert verify_groth16(
        vkey, proof["proof"], proof["public_signals"], backend="reference"
    )
    report = tenant_setup.client.post(VERIFY, bundle, format="json").json()
    assert report["ok"] is True
    binding = report["incircuit_binding_verification"]
    assert binding["ok"] is True and binding["backend"] == "fast"
    assert binding["vkey_hash"] == manifest["vkey_hash"]
    # A proof for other commitments does not bind this charge.
    att["charge"]["amount_minor"] += 1
    assert not verify_bundle(bundle, trust_anchors_get()).ok


def test_artifact_mismatch_refuses_attest_with_503(
    binding_on: None, tenant_setup: TenantSetup, tmp_path: Path, settings: Any
) -> None:
    """One flipped byte in the shipped zkey: attest is refused with 503
    ``artifact_manifest_mismatch`` and nothing is reserved or substituted."""
    copy = tmp_path / "artifacts"
    shutil.copytree(settings.VDI_CIRCUIT_ARTIFACTS_DIR, copy)
    zkey = copy / "apiBillingV2_final.zkey"
    data = bytearray(zkey.read_bytes())
    data[len(data) // 2] ^= 0x01
    zkey.write_bytes(bytes(data))
    settings.VDI_CIRCUIT_ARTIFACTS_DIR = str(copy)
    artifact_status(refresh=True)
    response = tenant_setup.client.post(ATTEST, make_event(), format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "artifact_manifest_mismatch"
    assert ReplayReservation.objects.count() == 0
