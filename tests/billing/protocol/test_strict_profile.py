"""The strict profile ``VDI_VERIFY_STRICT_V1`` (billing.protocol.verify).

Every test below starts from a bundle that passes the strict profile (built by
``StrictKit``: real keys, a signed artifact manifest, a Groth16 proof for a
test key with known trapdoor, a timestamped checkpoint, a signed revocation
snapshot) and breaks one thing. Where the profile difference is the point, the
test asserts that the bundle passes the standard profile and fails strict for
exactly that reason: the failed check names and their codes.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import (
    PROFILE_STRICT,
    STRICT_CHECKS,
    BundleVerifier,
    CheckFailed,
    VerificationReport,
    checkpoint_time,
    strict_options,
)
from circuits.protocol.manifest import vkey_hash
from kernel.protocol.ed25519 import KeyPair
from kernel.protocol.trustedkey import TrustedKey
from revocation.protocol.snapshot import attestation_bundle_hash
from transparency.protocol.checkpoint import CheckpointBody

from .builders import ISSUED_AT, STRICT_NOW, Keys, StrictKit, event_json

OCCURRED_AT = datetime(2026, 11, 21, 10, 5, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def kit() -> StrictKit:
    """Fresh keys, authority and trapdoor circuit for this module."""
    return StrictKit.generate()


@pytest.fixture(scope="module")
def good_bundle(kit: StrictKit) -> dict[str, Any]:
    """A bundle that passes the strict profile; deep-copy before mutating."""
    return kit.bundle()


def strict(
    bundle: dict[str, Any],
    trust: TrustAnchors,
    *,
    snapshot: Any,
    now: int = STRICT_NOW,
    **options: Any,
) -> VerificationReport:
    """Verify under the strict profile at ``now``.

    The verifier options come from :func:`strict_options` (the one
    strict-profile setup the CLI and the server use); ``options`` are its
    keyword arguments (``problem``, ``max_snapshot_age_seconds``).
    """
    return BundleVerifier(
        trust,
        profile=PROFILE_STRICT,
        now=now,
        **strict_options(revocation=snapshot, **options),
    ).verify(bundle)


def standard(bundle: dict[str, Any], trust: TrustAnchors) -> VerificationReport:
    """Verify under the standard profile."""
    return BundleVerifier(trust).verify(bundle)


def failures(report: VerificationReport) -> dict[str, str | None]:
    """Return ``{check name: code}`` of the failed checks."""
    return {c.name: c.code for c in report.checks if c.status == "fail"}


def assert_strict_only(
    bundle: dict[str, Any],
    trust: TrustAnchors,
    snapshot: Any,
    expected: dict[str, str],
    **options: Any,
) -> VerificationReport:
    """The bundle passes standard and fails strict with exactly ``expected``."""
    plain = standard(bundle, trust)
    assert plain.ok, failures(plain)
    report = strict(bundle, trust, snapshot=snapshot, **options)
    assert report.ok is False
    assert failures(report) == expected
    return report


def with_key(trust: TrustAnchors, replaced: TrustedKey) -> TrustAnchors:
    """Return ``trust`` with the key of the same role and kid replaced."""
    keys = tuple(
        replaced if (k.role, k.kid) == (replaced.role, replaced.kid) else k
        for k in trust.keys
    )
    return TrustAnchors(
        keys=keys,
        log_origin=trust.log_origin,
        log_verifier_keys=trust.log_verifier_keys,
        log_witnesses=trust.log_witnesses,
        witness_threshold=trust.witness_threshold,
        circuits=trust.circuits,
    )


def windowed(
    trust: TrustAnchors,
    role: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    status: str = "active",
) -> TrustAnchors:
    """Return ``trust`` with the (single) key of ``role`` given a window."""
    (key,) = trust.keys_for(role)
    return with_key(
        trust,
        TrustedKey(
            key.kid,
            role,
            key.verify_key,
            tenant=key.tenant,
            not_before=not_before,
            not_after=not_after,
            status=status,
        ),
    )


# -- the baseline ---------------------------------------------------------------


def test_strict_baseline_passes_every_check(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A complete bundle passes every standard and strict check; nothing skips."""
    snapshot = kit.opened(kit.snapshot())
    report = strict(good_bundle, kit.trust(), snapshot=snapshot)
    assert report.ok, failures(report)
    names = [c.name for c in report.checks]
    assert names[-4:] == list(STRICT_CHECKS)
    assert {c.status for c in report.checks} == {"pass"}
    body = report.to_json()
    assert body["profile"] == "VDI_VERIFY_STRICT_V1"
    assert body["revocation"] == {
        "sequence": 1,
        "snapshot_time": STRICT_NOW - 60,
        "age_seconds": 60,
        "issuer_kid": kit.keys.issuer.kid,
    }
    assert body["incircuit_binding_verification"]["ok"] is True


def test_strict_alias_and_unknown_backend() -> None:
    """``strict`` is an alias; an unknown Groth16 backend is refused."""
    trust = Keys.generate().trust()
    assert BundleVerifier(trust, profile="strict").profile == PROFILE_STRICT
    with pytest.raises(ValueError):
        BundleVerifier(trust, profile="strict", groth16_backend="gpu")


def test_standard_report_has_no_revocation_member(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """The standard report keeps its shape (no ``revocation`` member)."""
    assert "revocation" not in standard(good_bundle, kit.trust()).to_json()


# -- kids_valid -------------------------------------------------------------------


def test_kids_valid_meter_key_expired_at_occurred_at(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A meter key whose window ended before the event occurred fails kids_valid."""
    trust = windowed(kit.trust(), "meter", not_after=OCCURRED_AT)
    assert_strict_only(
        good_bundle,
        trust,
        kit.opened(kit.snapshot()),
        {"kids_valid": "kid_not_valid_at_signing_time"},
    )


def test_kids_valid_meter_key_not_yet_valid(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """``not_before`` after occurred_at fails kids_valid (the bound is inclusive)."""
    trust = windowed(
        kit.trust(), "meter", not_before=OCCURRED_AT + timedelta(seconds=1)
    )
    assert_strict_only(
        good_bundle,
        trust,
        kit.opened(kit.snapshot()),
        {"kids_valid": "kid_not_valid_at_signing_time"},
    )
    inclusive = windowed(kit.trust(), "meter", not_before=OCCURRED_AT)
    report = strict(good_bundle, inclusive, snapshot=kit.opened(kit.snapshot()))
    assert report.ok, failures(report)


def test_kids_valid_issuer_key_expired_at_issued_at(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """An issuer key whose window ended before receipt.issued_at fails kids_valid.

    The snapshot is signed by a second, valid issuer key so that only the
    attestation's signing time is out of window.
    """
    other = KeyPair.generate()
    trust = windowed(kit.trust(), "issuer", not_after=ISSUED_AT)
    trust = TrustAnchors(
        keys=(*trust.keys, TrustedKey(other.kid, "issuer", other.verify_key)),
        log_origin=trust.log_origin,
        log_verifier_keys=trust.log_verifier_keys,
        circuits=trust.circuits,
    )
    snapshot = kit.opened(kit.snapshot(signer=other), signer=other)
    assert_strict_only(
        good_bundle, trust, snapshot, {"kids_valid": "kid_not_valid_at_signing_time"}
    )


def test_kids_valid_log_operator_expired_at_checkpoint_timestamp(
    kit: StrictKit,
) -> None:
    """A log-operator key retired before the checkpoint's Timestamp fails."""
    stamp = STRICT_NOW - 300
    bundle = kit.bundle(timestamp=stamp)
    trust = windowed(
        kit.trust(), "log_operator", not_after=datetime.fromtimestamp(stamp, UTC)
    )
    assert_strict_only(
        bundle,
        trust,
        kit.opened(kit.snapshot()),
        {"kids_valid": "kid_not_valid_at_signing_time"},
    )


def test_kids_valid_log_operator_without_timestamp_uses_issued_at(
    kit: StrictKit,
) -> None:
    """Without a Timestamp line the log key must be valid at receipt.issued_at."""
    bundle = kit.bundle(timestamp=None)
    early = windowed(kit.trust(), "log_operator", not_after=ISSUED_AT)
    assert_strict_only(
        bundle,
        early,
        kit.opened(kit.snapshot()),
        {"kids_valid": "kid_not_valid_at_signing_time"},
    )
    later = windowed(
        kit.trust(), "log_operator", not_after=ISSUED_AT + timedelta(seconds=1)
    )
    assert strict(bundle, later, snapshot=kit.opened(kit.snapshot())).ok


def test_kids_valid_log_key_without_log_operator_entry(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A note verifier key with no ``log_operator`` key entry is not a trusted
    log operator: kids_valid fails with unknown_kid."""
    base = kit.trust()
    trust = TrustAnchors(
        keys=tuple(k for k in base.keys if k.role != "log_operator"),
        log_origin=base.log_origin,
        log_verifier_keys=base.log_verifier_keys,
        circuits=base.circuits,
    )
    assert_strict_only(
        good_bundle, trust, kit.opened(kit.snapshot()), {"kids_valid": "unknown_kid"}
    )


def test_checkpoint_timestamp_extension_is_parsed_strictly() -> None:
    """``Timestamp: <unix seconds>`` once, digits only."""
    root = b"\x00" * 32
    assert checkpoint_time(CheckpointBody("o", 1, root)) is None
    assert checkpoint_time(CheckpointBody("o", 1, root, ("Timestamp: 60",))) == (
        datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    )
    for bad in (("Timestamp: -1",), ("Timestamp: 1", "Timestamp: 2")):
        with pytest.raises(CheckFailed) as info:
            checkpoint_time(CheckpointBody("o", 1, root, bad))
        assert info.value.code == "checkpoint_timestamp_invalid"


# -- not_revoked -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["meter", "issuer", "log_operator"])
def test_not_revoked_kid_in_snapshot(
    kit: StrictKit, good_bundle: dict[str, Any], role: str
) -> None:
    """A meter, issuer or log-operator kid listed in revokedKids fails not_revoked."""
    kid = {
        "meter": kit.keys.meter.kid,
        "issuer": kit.keys.issuer.kid,
        "log_operator": kit.keys.log_operator.kid,
    }[role]
    snapshot = kit.opened(kit.snapshot(revoked_kids=(kid,)))
    assert_strict_only(
        good_bundle, kit.trust(), snapshot, {"not_revoked": "kid_revoked"}
    )


def test_not_revoked_status_in_trust_anchors(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A key published with ``status: revoked`` fails not_revoked too."""
    trust = windowed(kit.trust(), "meter", status="revoked")
    assert_strict_only(
        good_bundle,
        trust,
        kit.opened(kit.snapshot()),
        {"not_revoked": "kid_revoked"},
    )


def test_not_revoked_attestation_by_receipt_id_and_bundle_hash(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """Revoking the receipt id or the bundle hash fails not_revoked."""
    receipt = good_bundle["attestation"]["receipt"]["receipt_id"]
    digest = attestation_bundle_hash(good_bundle["attestation"])
    for entry in (receipt, digest):
        snapshot = kit.opened(kit.snapshot(revoked_attestations=(entry,)))
        assert_strict_only(
            good_bundle, kit.trust(), snapshot, {"not_revoked": "attestation_revoked"}
        )


def test_not_revoked_ignores_other_entries(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """Other kids and attestations in the snapshot do not affect this bundle."""
    snapshot = kit.opened(
        kit.snapshot(
            revoked_kids=(KeyPair.generate().kid,),
            revoked_attestations=("rcpt_other", "ab" * 32),
        )
    )
    assert strict(good_bundle, kit.trust(), snapshot=snapshot).ok


# -- revocation_snapshot -----------------------------------------------------------


def test_revocation_snapshot_missing(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """Without a snapshot both revocation checks fail closed (same code)."""
    report = assert_strict_only(
        good_bundle,
        kit.trust(),
        None,
        {
            "revocation_snapshot": "revocation_snapshot_missing",
            "not_revoked": "revocation_snapshot_missing",
        },
    )
    assert report.to_json()["revocation"] is None


def test_revocation_snapshot_stale(kit: StrictKit, good_bundle: dict[str, Any]) -> None:
    """A snapshot older than the maximum fails revocation_snapshot, and the
    report says how old it is."""
    snapshot = kit.opened(kit.snapshot(snapshot_time=STRICT_NOW - 3601))
    report = assert_strict_only(
        good_bundle,
        kit.trust(),
        snapshot,
        {"revocation_snapshot": "revocation_snapshot_stale"},
        max_snapshot_age_seconds=3600,
    )
    assert report.to_json()["revocation"]["age_seconds"] == 3601
    fresh_enough = strict(
        good_bundle, kit.trust(), snapshot=snapshot, max_snapshot_age_seconds=3601
    )
    assert fresh_enough.ok


def test_revocation_snapshot_by_untrusted_issuer(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A snapshot (validly) signed by a key that is not a trusted issuer fails."""
    rogue = KeyPair.generate()
    snapshot = kit.opened(kit.snapshot(signer=rogue), signer=rogue)
    assert_strict_only(
        good_bundle,
        kit.trust(),
        snapshot,
        {"revocation_snapshot": "revocation_issuer_untrusted"},
    )


def test_revocation_snapshot_problem_code_is_reported(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """When the snapshot could not be opened, its error code is the check's."""
    problem = ("revocation_signature_invalid", "bad signature")
    report = strict(good_bundle, kit.trust(), snapshot=None, problem=problem)
    assert failures(report) == {
        "revocation_snapshot": "revocation_signature_invalid",
        "not_revoked": "revocation_snapshot_missing",
    }


# -- billing_proof and authority_binding ------------------------------------------


def test_billing_proof_required(kit: StrictKit) -> None:
    """A bundle without billing_proof passes standard (skip) and fails strict:
    no proof, so no key to authorise either."""
    bundle = kit.bundle(attestation=kit.attestation(with_proof=False))
    report = assert_strict_only(
        bundle,
        kit.trust(),
        kit.opened(kit.snapshot()),
        {
            "billing_proof": "billing_proof_missing",
            "authority_binding": "billing_proof_missing",
        },
    )
    assert "skip" not in {c.status for c in report.checks}


def test_billing_proof_for_another_signal_fails_both_profiles(kit: StrictKit) -> None:
    """A proof of a different public signal fails billing_proof everywhere."""
    plain = kit.attestation(with_proof=False)
    signal = plain["billing_commitments"]["public_signals"][0]
    forged = kit.billing_proof(str(int(signal) + 1))
    forged["public_signals"] = [signal]
    from .builders import make_attestation

    att = make_attestation(kit.keys, billing_proof=forged)
    bundle = kit.bundle(attestation=att)
    assert "billing_proof" in failures(standard(bundle, kit.trust()))
    report = strict(bundle, kit.trust(), snapshot=kit.opened(kit.snapshot()))
    assert failures(report).get("billing_proof") == "groth16_proof_invalid"


def test_authority_binding_manifest_by_untrusted_authority(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A manifest signed by an authority the trust anchors do not list does not
    authorise the verification key."""
    trust = kit.trust(manifests=[kit.manifest(authority=KeyPair.generate())])
    assert_strict_only(
        good_bundle,
        trust,
        kit.opened(kit.snapshot()),
        {"authority_binding": "vkey_not_authorised"},
    )


def test_authority_binding_manifest_for_another_key(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A trusted manifest that authorises a different vkey_hash does not count."""
    from .builders import signed_test_manifest
    from .groth16_trapdoor import TrapdoorKey

    other = signed_test_manifest(
        TrapdoorKey.generate().verification_key(), kit.authority
    )
    assert_strict_only(
        good_bundle,
        kit.trust(manifests=[other]),
        kit.opened(kit.snapshot()),
        {"authority_binding": "vkey_not_authorised"},
    )


def test_authority_binding_tampered_manifest(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """A manifest edited after signing is rejected (signature check)."""
    manifest = kit.manifest()
    manifest["circuit"] = "apiBillingV3"
    report = assert_strict_only(
        good_bundle,
        kit.trust(manifests=[manifest]),
        kit.opened(kit.snapshot()),
        {"authority_binding": "vkey_not_authorised"},
    )
    (check,) = [c for c in report.checks if c.name == "authority_binding"]
    assert "manifest_signature_invalid" in (check.message or "")


def test_authority_binding_without_manifest(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """Trust anchors without manifests cannot authorise any key."""
    assert_strict_only(
        good_bundle,
        kit.trust(manifests=[]),
        kit.opened(kit.snapshot()),
        {"authority_binding": "artifact_manifest_missing"},
    )


def test_authority_binding_without_manifest_authority(
    kit: StrictKit, good_bundle: dict[str, Any]
) -> None:
    """Trust anchors that list no manifest_authority key fail closed."""
    keys = tuple(k for k in kit.trust().keys if k.role != "manifest_authority")
    assert_strict_only(
        good_bundle,
        kit.trust(keys=keys),
        kit.opened(kit.snapshot()),
        {"authority_binding": "manifest_authority_untrusted"},
    )


def test_authority_binding_circuit_hash_mismatch(kit: StrictKit) -> None:
    """The proof's circuit_hash must be the manifest's."""
    plain = kit.attestation(with_proof=False)
    proof = kit.billing_proof(plain["billing_commitments"]["public_signals"][0])
    proof["circuit_hash"] = "ee" * 32
    from .builders import make_attestation

    bundle = kit.bundle(attestation=make_attestation(kit.keys, billing_proof=proof))
    assert_strict_only(
        bundle,
        kit.trust(),
        kit.opened(kit.snapshot()),
        {"authority_binding": "circuit_hash_mismatch"},
    )


def test_verification_key_hash_is_jcs_sha256(kit: StrictKit) -> None:
    """vkey_hash is SHA-256 of the JCS verification key (whitespace-free)."""
    import hashlib

    import rfc8785

    assert vkey_hash(kit.vkey) == hashlib.sha256(rfc8785.dumps(kit.vkey)).hexdigest()


# -- log evidence -------------------------------------------------------------------


def test_log_evidence_required(kit: StrictKit, good_bundle: dict[str, Any]) -> None:
    """Without ``log`` the standard profile skips the log checks; strict fails
    both with log_evidence_missing."""
    bundle = copy.deepcopy(good_bundle)
    del bundle["log"]
    report = assert_strict_only(
        bundle,
        kit.trust(),
        kit.opened(kit.snapshot()),
        {
            "checkpoint_signature": "log_evidence_missing",
            "log_inclusion": "log_evidence_missing",
        },
    )
    assert "skip" not in {c.status for c in report.checks}


# -- witnesses (every profile) ----------------------------------------------------


def test_witness_threshold_met() -> None:
    """Two of two witnesses cosigned: passes standard and strict."""
    kit = StrictKit.generate(witnesses=2, threshold=2)
    bundle = kit.bundle()
    assert standard(bundle, kit.trust()).ok
    assert strict(bundle, kit.trust(), snapshot=kit.opened(kit.snapshot())).ok


def test_witness_cosignatures_insufficient() -> None:
    """One of two required cosignatures fails checkpoint_signature and
    log_inclusion in both profiles; a repeated line counts once."""
    kit = StrictKit.generate(witnesses=2, threshold=2)
    one = kit.witnesses[:1]
    for cosigners in (one, one + one):
        bundle = kit.bundle(cosigners=cosigners)
        expected = {
            "checkpoint_signature": "witness_cosignatures_insufficient",
            "log_inclusion": "witness_cosignatures_insufficient",
        }
        assert failures(standard(bundle, kit.trust())) == expected
        report = strict(bundle, kit.trust(), snapshot=kit.opened(kit.snapshot()))
        assert failures(report) == {**expected, "kids_valid": expected["log_inclusion"]}


def test_cosignature_by_unlisted_witness_does_not_count() -> None:
    """A cosignature by a key not in log.witnesses is ignored."""
    kit = StrictKit.generate(witnesses=1, threshold=1)
    stranger = StrictKit.generate(witnesses=1).witnesses
    bundle = kit.bundle(cosigners=stranger)
    assert failures(standard(bundle, kit.trust())) == {
        "checkpoint_signature": "witness_cosignatures_insufficient",
        "log_inclusion": "witness_cosignatures_insufficient",
    }


def test_witness_only_note_is_not_a_log_signature() -> None:
    """A note carrying only a witness cosignature (no log signature) fails."""
    kit = StrictKit.generate(witnesses=1, threshold=1)
    bundle = kit.bundle()
    body, _, sigs = bundle["log"]["checkpoint"].partition("\n\n")
    witness_line = sigs.splitlines()[-1]
    bundle["log"]["checkpoint"] = f"{body}\n\n{witness_line}\n"
    report = standard(bundle, kit.trust())
    assert failures(report)["checkpoint_signature"] == "signature_invalid"


def test_trust_anchor_round_trip_with_witnesses_and_circuits() -> None:
    """to_json/from_json round-trips the new optional members."""
    kit = StrictKit.generate(witnesses=2, threshold=1)
    trust = kit.trust()
    again = TrustAnchors.from_json(trust.to_json())
    assert again.to_json() == trust.to_json()
    assert again.witness_threshold == 1 and len(again.log_witnesses) == 2
    assert again.circuits is not None and again.circuits.manifests


@pytest.mark.parametrize(
    "log_patch",
    [
        {"witnesses": ["not-a-vkey"]},
        {"witnesses": [], "witness_threshold": 1},
        {"witness_threshold": True},
    ],
)
def test_trust_anchor_witness_members_are_validated(log_patch: dict[str, Any]) -> None:
    """Malformed witnesses or thresholds are refused with trust_anchors_invalid."""
    from billing.protocol.errors import TrustAnchorError

    doc = Keys.generate().trust().to_json()
    doc["log"].update(log_patch)
    with pytest.raises(TrustAnchorError):
        TrustAnchors.from_json(doc)


def test_log_note_key_rejected_as_witness() -> None:
    """A 0x01 note key is not a witness key (must be 0x04)."""
    from billing.protocol.errors import TrustAnchorError

    keys = Keys.generate()
    doc = keys.trust().to_json()
    doc["log"]["witnesses"] = [keys.signer.verifier_key()]
    with pytest.raises(TrustAnchorError):
        TrustAnchors.from_json(doc)


def test_event_fixture_time_matches() -> None:
    """The builders' event occurred at OCCURRED_AT (used by the windows above)."""
    assert event_json()["occurred_at"] == "2026-11-21T10:05:03Z"
