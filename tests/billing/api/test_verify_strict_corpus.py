"""The strict profile over the API, and the offline CLI agreeing with it.

A corpus of bundles (valid and tampered) is verified by
``POST /api/vdi/billing/verify`` and by ``meterproof verify`` run as a
subprocess on the published trust anchors and the same signed revocation
snapshot, under both profiles: verdicts and failed check names must match.
The server's keys come from the ``signing_keys`` fixture; its circuit
artifacts (a signed manifest and a test verification key with known trapdoor,
see ``tests/billing/protocol/groth16_trapdoor.py``) from a temporary
``VDI_CIRCUIT_ARTIFACTS_DIR``; the snapshot is served inline
(``VDI_BILLING_REVOCATION_JSON``).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.protocol.bundle import receipt_id_for
from kernel.protocol.ed25519 import KeyPair, public_jwk
from revocation.models import RevocationSnapshot
from revocation.services.snapshots import revocation_snapshot_publish
from tests.billing.protocol.builders import (
    Keys,
    StrictKit,
    event_json,
    flip_b64url,
    resign,
    signed_test_manifest,
)
from tests.billing.protocol.groth16_trapdoor import TrapdoorKey
from tests.support.cli import meterproof

VERIFY = "/api/vdi/billing/verify"
TRUST = "/.well-known/vdi-billing-trust.json"
STRICT = "VDI_VERIFY_STRICT_V1"
pytestmark = pytest.mark.django_db
#: The receipt id of event ``evt_revoked`` (tenant acme, window 2026-11).
REVOKED_RECEIPT = receipt_id_for("acme", "2026-11", "evt_revoked")


@dataclass
class Server:
    """The configured server: its kit (same keys) and the snapshot document."""

    kit: StrictKit
    snapshot: dict[str, Any]


@pytest.fixture
def server(settings: Any, signing_keys: Any, tmp_path: Path) -> Server:
    """Configure circuits, an inline revocation snapshot, and a kit that signs
    with the server's own keys."""
    circuit = TrapdoorKey.generate()
    directory = tmp_path / "circuits"
    directory.mkdir()
    vkey = circuit.verification_key()
    manifest = signed_test_manifest(vkey, signing_keys.authority)
    (directory / "ARTIFACT_MANIFEST.json").write_text(json.dumps(manifest))
    (directory / "verification_key.json").write_text(json.dumps(vkey))
    settings.VDI_CIRCUIT_ARTIFACTS_DIR = str(directory)
    # The published authority is the configured public key, never the public
    # half of a signing key in the environment.
    settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK = json.dumps(
        public_jwk(signing_keys.authority.verify_key)
    )
    keys = Keys(
        signing_keys.issuer,
        signing_keys.meter,
        signing_keys.log_operator,
        settings.VDI_BILLING_LOG_ORIGIN,
    )
    kit = StrictKit(keys, signing_keys.authority, circuit)
    now = int(time.time())
    snapshot = kit.snapshot(
        revoked_attestations=(REVOKED_RECEIPT,), snapshot_time=now - 60
    )
    settings.VDI_BILLING_REVOCATION_JSON = json.dumps(snapshot)
    settings.VDI_BILLING_REVOCATION_URL = ""
    return Server(kit, snapshot)


def corpus(kit: StrictKit) -> dict[str, dict[str, Any]]:
    """Valid and tampered bundles, by name."""
    stamp = int(time.time()) - 300
    valid = kit.bundle(timestamp=stamp)
    tampered = copy.deepcopy(valid)
    tampered["attestation"]["charge"]["amount_minor"] += 1
    bad_sig = copy.deepcopy(valid)
    bad_sig["attestation"]["sig"] = flip_b64url(bad_sig["attestation"]["sig"])
    no_log = copy.deepcopy(valid)
    del no_log["log"]
    no_proof = kit.bundle(
        attestation=kit.attestation(with_proof=False), timestamp=stamp
    )
    # Async proving: the proof is attached after signing, outside the signature.
    plain = kit.attestation(with_proof=False)
    signal = plain["billing_commitments"]["public_signals"][0]
    detached = kit.bundle(attestation=plain, timestamp=stamp)
    detached["billing_proof"] = kit.billing_proof(signal)
    foreign = kit.attestation(with_proof=False, event=event_json(event_id="evt_other"))
    detached_foreign = copy.deepcopy(detached)
    detached_foreign["billing_proof"] = kit.billing_proof(
        foreign["billing_commitments"]["public_signals"][0]
    )
    null_proof = kit.attestation(with_proof=False)
    null_proof["billing_proof"] = None  # signed by the (trusted) issuer as null
    signed_null_proof = kit.bundle(
        attestation=resign(kit.keys, null_proof), timestamp=stamp
    )
    proof_twice = copy.deepcopy(valid)
    proof_twice["billing_proof"] = copy.deepcopy(valid["attestation"]["billing_proof"])
    revoked = kit.bundle(event=event_json(event_id="evt_revoked"), timestamp=stamp)
    stranger = StrictKit(
        Keys(
            KeyPair.generate(), kit.keys.meter, kit.keys.log_operator, kit.keys.origin
        ),
        kit.authority,
        kit.circuit,
    ).bundle(timestamp=stamp)
    window = event_json()["window"]
    valid_v3 = kit.bundle(
        attestation=kit.attestation(sequence={"period": window, "number": 1}),
        timestamp=stamp,
    )
    v3_detached_plain = kit.attestation(
        with_proof=False,
        event=event_json(event_id="evt_v3_detached"),
        sequence={"period": window, "number": 2},
    )
    v3_detached = kit.bundle(attestation=v3_detached_plain, timestamp=stamp)
    v3_detached["billing_proof"] = kit.billing_proof(
        v3_detached_plain["billing_commitments"]["public_signals"][0]
    )
    v3_renumbered = copy.deepcopy(valid_v3)
    v3_renumbered["attestation"]["sequence"]["number"] = 2
    v3_other_period = copy.deepcopy(valid_v3)
    v3_other_period["attestation"]["sequence"]["period"] = "2020-01"
    v3_other_period["attestation"] = resign(kit.keys, v3_other_period["attestation"])
    return {
        "valid": valid,
        "valid_v3": valid_v3,
        "v3_detached_proof": v3_detached,
        "v3_renumbered": v3_renumbered,
        "v3_period_not_window": v3_other_period,
        "tampered_charge": tampered,
        "bad_issuer_sig": bad_sig,
        "no_log": no_log,
        "no_proof": no_proof,
        "detached_proof": detached,
        "detached_proof_for_other_charge": detached_foreign,
        "proof_inside_and_detached": proof_twice,
        "signed_null_proof": signed_null_proof,
        "revoked_receipt": revoked,
        "unknown_issuer": stranger,
        "not_a_bundle": {"format": "vdi-billing/1"},
    }


def api_verdicts(
    bundles: dict[str, dict[str, Any]], profile: str
) -> dict[str, tuple[bool, list[str]]]:
    """``{name: (ok, failed check names)}`` from the API."""
    out = {}
    for name, bundle in bundles.items():
        response = APIClient().post(
            f"{VERIFY}?profile={profile}", bundle, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        out[name] = (
            body["ok"],
            [c["name"] for c in body["checks"] if c["status"] == "fail"],
        )
    return out


def cli_verdicts(
    bundles: dict[str, dict[str, Any]],
    tmp_path: Path,
    profile: str,
    snapshot: dict[str, Any] | None,
) -> dict[str, tuple[bool, list[str]]]:
    """``{name: (ok, failed check names)}`` from ``meterproof verify`` run as a
    subprocess on the trust anchors the server publishes."""
    directory = tmp_path / f"bundles-{profile}"
    directory.mkdir()
    for name, bundle in bundles.items():
        (directory / f"{name}.json").write_text(json.dumps(bundle))
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(APIClient().get(TRUST).json()))
    command = [
        "verify",
        str(directory),
        "--trust",
        str(trust),
        "--profile",
        "strict" if profile == STRICT else profile,
        "--compact",
        "--jobs",
        "1",
    ]
    if snapshot is not None:
        path = tmp_path / "revocation.json"
        path.write_text(json.dumps(snapshot))
        command += ["--revocation", str(path)]
    result = meterproof(*command, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["profile"] == profile
    return {
        Path(r["file"]).stem: (
            r["ok"],
            [c["name"] for c in r["checks"] if c["status"] == "fail"],
        )
        for r in report["reports"]
    }


@pytest.mark.parametrize("profile", ["standard", STRICT])
def test_cli_and_api_agree_on_the_corpus(
    server: Server, tmp_path: Path, profile: str
) -> None:
    """Same inputs, same verdicts and failed checks, in both profiles."""
    bundles = corpus(server.kit)
    api = api_verdicts(bundles, profile)
    cli = cli_verdicts(
        bundles, tmp_path, profile, server.snapshot if profile == STRICT else None
    )
    assert cli == api
    assert api["valid"] == (True, [])
    assert api["valid_v3"] == (True, [])
    assert api["v3_detached_proof"] == (True, [])
    assert {"issuer_signature", "log_inclusion"} <= set(api["v3_renumbered"][1])
    assert api["v3_period_not_window"] == (False, ["bundle_format"])
    assert api["tampered_charge"][0] is False
    assert "issuer_signature" in api["bad_issuer_sig"][1]
    assert api["detached_proof"] == (True, [])
    assert api["detached_proof_for_other_charge"][0] is False
    assert "billing_proof" in api["detached_proof_for_other_charge"][1]
    assert api["proof_inside_and_detached"] == (False, ["bundle_format"])
    # null is never absent: an optional member that is null is malformed
    assert api["signed_null_proof"] == (False, ["bundle_format"])
    if profile == STRICT:
        assert api["no_log"] == (False, ["checkpoint_signature", "log_inclusion"])
        assert api["no_proof"] == (False, ["billing_proof", "authority_binding"])
        assert api["revoked_receipt"] == (False, ["not_revoked"])
        assert "kids_valid" in api["unknown_issuer"][1]
    else:
        for name in ("no_log", "no_proof", "revoked_receipt"):
            assert api[name] == (True, [])


def test_strict_report_carries_snapshot_age(server: Server) -> None:
    """The strict API report says which snapshot it used and how old it is."""
    bundle = corpus(server.kit)["valid"]
    body = APIClient().post(f"{VERIFY}?profile={STRICT}", bundle, format="json").json()
    assert body["ok"] is True, body
    revocation = body["revocation"]
    assert revocation["sequence"] == server.snapshot["sequence"]
    assert revocation["snapshot_time"] == server.snapshot["snapshotTime"]
    assert 60 <= revocation["age_seconds"] < 3600
    assert revocation["source"] == "inline"


def test_profile_from_body_member_and_default_setting(
    server: Server, settings: Any
) -> None:
    """``{"bundle", "profile"}`` bodies work; VDI_BILLING_VERIFY_PROFILE is the
    default; the alias ``strict`` is accepted."""
    bundle = corpus(server.kit)["no_log"]
    wrapped = {"bundle": bundle, "profile": STRICT}
    body = APIClient().post(VERIFY, wrapped, format="json").json()
    assert (body["profile"], body["ok"]) == (STRICT, False)
    settings.VDI_BILLING_VERIFY_PROFILE = STRICT
    assert APIClient().post(VERIFY, bundle, format="json").json()["profile"] == STRICT
    settings.VDI_BILLING_VERIFY_PROFILE = "standard"
    body = APIClient().post(VERIFY, bundle, format="json").json()
    assert (body["profile"], body["ok"]) == ("standard", True)
    body = APIClient().post(f"{VERIFY}?profile=strict", bundle, format="json").json()
    assert body["profile"] == STRICT


def test_strict_without_snapshot_fails_closed(server: Server, settings: Any) -> None:
    """No snapshot available (a configured feed never fetched): the revocation
    checks fail with the source's code."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_BILLING_REVOCATION_URL = "https://revocation.invalid/feed.json"
    bundle = corpus(server.kit)["valid"]
    body = APIClient().post(f"{VERIFY}?profile={STRICT}", bundle, format="json").json()
    failed = {c["name"]: c["code"] for c in body["checks"] if c["status"] == "fail"}
    assert body["ok"] is False
    assert failed == {
        "revocation_snapshot": "revocation_snapshot_missing",
        "not_revoked": "revocation_snapshot_missing",
    }


def test_cli_strict_needs_revocation_and_reports_bad_snapshot(
    server: Server, tmp_path: Path
) -> None:
    """--profile strict without --revocation is a usage error (exit 2); a
    snapshot signed by an untrusted key fails revocation_snapshot (exit 1)."""
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps(corpus(server.kit)["valid"]))
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(APIClient().get(TRUST).json()))
    base = ["verify", str(bundle), "--trust", str(trust), "--profile", "strict"]
    missing = meterproof(*base, "--json")
    assert missing.returncode == 2 and "--revocation" in missing.stderr
    rogue = KeyPair.generate()
    snapshot = tmp_path / "rogue.json"
    snapshot.write_text(json.dumps(server.kit.snapshot(signer=rogue)))
    result = meterproof(*base, "--json", "--revocation", str(snapshot))
    assert result.returncode == 1, result.stderr
    (report,) = json.loads(result.stdout)["reports"]
    failed = {c["name"]: c["code"] for c in report["checks"] if c["status"] == "fail"}
    assert failed["not_revoked"] == "revocation_snapshot_missing"
    assert failed["revocation_snapshot"].startswith("revocation_")


def test_verify_body_size_is_bounded(signing_keys: Any, settings: Any) -> None:
    """A body above MP_MAX_BODY_BYTES is refused before parsing (413)."""
    settings.MP_MAX_BODY_BYTES = 1024
    response = APIClient().generic(
        "POST", VERIFY, "[" * 2048, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("beat", [False, True])
def test_local_snapshot_an_hour_old_without_beat_is_resigned_on_demand(
    server: Server, settings: Any, beat: bool
) -> None:
    """Our own snapshot was last signed two hours ago (max age one hour).
    Without Celery beat (development) strict verification re-signs it first
    and the revocation checks pass; with beat (production) nothing re-signs
    on demand and the stale snapshot fails closed."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_CELERY_BEAT = beat
    settings.VDI_BILLING_REVOCATION_MAX_AGE_SEC = 3600
    revocation_snapshot_publish(now=timezone.now() - timedelta(hours=2))
    bundle = corpus(server.kit)["valid"]
    body = APIClient().post(f"{VERIFY}?profile={STRICT}", bundle, format="json").json()
    checks = {c["name"]: (c["status"], c.get("code")) for c in body["checks"]}
    if beat:
        assert checks["revocation_snapshot"] == ("fail", "revocation_snapshot_stale")
        assert RevocationSnapshot.objects.count() == 1
    else:
        assert checks["revocation_snapshot"][0] == "pass", checks
        assert checks["not_revoked"][0] == "pass", checks
        assert RevocationSnapshot.objects.count() == 2
