"""Audit item 33: the README's offline strict verification works as written on
a fresh install after ``make demo``.

The documented sequence (README, "Offline verification")::

    manage.py export_bundles --out audit/ --clean
    meterproof verify audit/bundles --trust audit/trust.json
    manage.py export_bundles --out audit-strict/ --clean --proved-only
    meterproof verify audit-strict/bundles --trust audit-strict/trust.json \
        --profile strict --revocation audit-strict/revocation.json

Here with the same calls: the demo's proved sample is attested as
``access_log_import(prove_first=...)`` does (``prove=True``), nothing ever
fetched the revocation feed, and the CLI runs in a separate process without
Django.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from billing.models import Bundle
from billing.services.attest import meter_events_attest
from revocation.models import RevocationSnapshot
from tests.billing.support import TenantSetup, make_event
from tests.support.cli import meterproof

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_like(tenant_setup: TenantSetup) -> TenantSetup:
    """Two proved events (the demo's sample) and one without a proof, on a
    server whose revocation feed was never fetched."""
    meter_events_attest(
        payloads=[make_event(event_id=f"p{k}") for k in range(2)],
        tenant=tenant_setup.tenant,
        prove=True,
        proof_mode="sync",
    )
    meter_events_attest(
        payloads=[make_event(event_id="plain")], tenant=tenant_setup.tenant, prove=False
    )
    assert not RevocationSnapshot.objects.exists()
    return tenant_setup


def test_readme_offline_verification_works_as_written(
    demo_like: TenantSetup, tmp_path: Path
) -> None:
    """Standard over every bundle and strict over the proved sample both exit
    0 with the files export_bundles wrote (trust.json, revocation.json)."""
    audit, strict = tmp_path / "audit", tmp_path / "audit-strict"
    call_command("export_bundles", out=str(audit), clean=True, stdout=StringIO())
    standard = meterproof(
        "verify", str(audit / "bundles"), "--trust", str(audit / "trust.json")
    )
    assert standard.returncode == 0, standard.stdout + standard.stderr
    assert "3 valid, 0 invalid" in standard.stdout
    call_command(
        "export_bundles",
        out=str(strict),
        clean=True,
        proved_only=True,
        stdout=StringIO(),
    )
    assert len(list((strict / "bundles").glob("*.json"))) == 2
    run = meterproof(
        "verify",
        str(strict / "bundles"),
        "--trust",
        str(strict / "trust.json"),
        "--profile",
        "strict",
        "--revocation",
        str(strict / "revocation.json"),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 valid, 0 invalid" in run.stdout


def test_first_strict_verify_on_a_fresh_install_has_a_snapshot(
    demo_like: TenantSetup,
) -> None:
    """The server's first strict verification publishes its first revocation
    snapshot (as the feed does) instead of failing revocation_snapshot_missing."""
    proved = Bundle.objects.filter(proof_status=Bundle.ProofStatus.EMBEDDED).first()
    assert proved is not None
    bundle = demo_like.client.get(
        f"/api/vdi/billing/bundles/{proved.receipt_id}"
    ).json()
    report = APIClient().post(
        "/api/vdi/billing/verify?profile=VDI_VERIFY_STRICT_V1", bundle, format="json"
    )
    assert report.status_code == 200
    failed = {c["name"]: c for c in report.json()["checks"] if c["status"] == "fail"}
    assert failed == {}, failed
    assert RevocationSnapshot.objects.count() == 1
