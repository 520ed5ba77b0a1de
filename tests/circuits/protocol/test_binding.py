"""``verify_billing_proof``: the in-circuit binding report for a bundle.

Real proofs from the prover over real ``billing_commitments`` (built by
``billing.protocol.bundle.billing_commitments``); each failure gives
``ok = False`` with the documented reason code, and nothing raises.
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.bundle import billing_commitments
from circuits.protocol.binding import verify_billing_proof
from circuits.protocol.manifest import vkey_hash
from circuits.prover import Groth16Prover
from tests.circuits import groth16_support as support

ROOT = Path(__file__).resolve().parents[3]


def _digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _commitments(tag: str) -> dict[str, Any]:
    return billing_commitments(
        _digest(f"meter {tag}"),
        _digest(f"tariff {tag}"),
        _digest(f"charge {tag}"),
        _digest(f"fingerprint {tag}"),
    )


@pytest.fixture(scope="module")
def prover() -> Groth16Prover:
    """The process-wide prover on the shipped artifacts."""
    return support.shared_prover()


@pytest.fixture(scope="module")
def bundle_parts(prover: Groth16Prover) -> dict[str, Any]:
    """Commitments, their proof and the trusted key map."""
    commitments = _commitments("a")
    member = prover.prove([int(e) for e in commitments["elements"]])
    other = _commitments("b")
    other_member = prover.prove([int(e) for e in other["elements"]])
    vkey = prover.verification_key
    return {
        "commitments": commitments,
        "proof": member,
        "other_proof": other_member,
        "keys": {vkey_hash(vkey): vkey},
    }


def _check(parts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    args = {
        "billing_proof": parts["proof"],
        "commitments": parts["commitments"],
        "verification_keys": parts["keys"],
        "backend": "fast",
    }
    args.update(overrides)
    billing_proof = args.pop("billing_proof")
    return verify_billing_proof(billing_proof, **args)


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_valid_proof_binds_the_commitments(
    bundle_parts: dict[str, Any], backend: str
) -> None:
    """A prover proof over the bundle's commitments gives ok with no reason."""
    report = _check(bundle_parts, backend=backend)
    assert report == {
        "ok": True,
        "backend": backend,
        "vkey_hash": bundle_parts["proof"]["vkey_hash"],
        "public_signals": bundle_parts["commitments"]["public_signals"],
        "reason": None,
    }


def _mutated(
    parts: dict[str, Any], path: tuple[Any, ...], value: Any
) -> dict[str, Any]:
    proof = copy.deepcopy(parts["proof"])
    target = proof
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return proof


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("binding_version",), "bn128-poseidon8-v0", "binding_version_mismatch"),
        (("public_signals",), ["1"], "binding_public_signal_mismatch"),
        (("vkey_hash",), "0" * 64, "binding_vkey_unknown"),
        (("vkey_hash",), "0" * 63, "binding_malformed"),
        (("protocol",), "plonk", "binding_malformed"),
        (("manifest",), {"sha256": "0" * 64}, "binding_malformed"),
        (("proof", "pi_a", 0), "1", "groth16_point_not_on_curve"),
        (("proof", "pi_a", 2), "0", "groth16_malformed_proof"),
        (("proof", "pi_c", 1), "-5", "groth16_malformed_proof"),
        (("proof", "protocol"), "fflonk", "groth16_malformed_proof"),
    ],
)
def test_tampered_proof_member_fails_with_reason(
    bundle_parts: dict[str, Any], path: tuple[Any, ...], value: Any, reason: str
) -> None:
    """Each tampered field gives ok = False and the documented reason."""
    report = _check(bundle_parts, billing_proof=_mutated(bundle_parts, path, value))
    assert report["ok"] is False
    assert report["reason"] == reason


def test_proof_of_other_commitments_does_not_bind(bundle_parts: dict[str, Any]) -> None:
    """A valid proof for another bundle's commitments is a signal mismatch."""
    report = _check(bundle_parts, billing_proof=bundle_parts["other_proof"])
    assert (report["ok"], report["reason"]) == (False, "binding_public_signal_mismatch")


def test_proof_for_other_signal_relabelled_fails_pairing(
    bundle_parts: dict[str, Any],
) -> None:
    """Another bundle's proof relabelled with this signal fails the pairing."""
    forged = copy.deepcopy(bundle_parts["other_proof"])
    forged["public_signals"] = bundle_parts["commitments"]["public_signals"]
    report = _check(bundle_parts, billing_proof=forged)
    assert (report["ok"], report["reason"]) == (False, "groth16_proof_invalid")


def test_commitment_tampering_is_caught(bundle_parts: dict[str, Any]) -> None:
    """Changing an element (the signal no longer matches) or the stated
    signal or the version is reported."""
    changed = copy.deepcopy(bundle_parts["commitments"])
    changed["elements"][0] = str(int(changed["elements"][0]) ^ 1)
    assert _check(bundle_parts, commitments=changed)["reason"] == (
        "binding_public_signal_mismatch"
    )
    stated = copy.deepcopy(bundle_parts["commitments"])
    stated["public_signals"] = ["7"]
    assert _check(bundle_parts, commitments=stated)["reason"] == (
        "binding_public_signal_mismatch"
    )
    version = dict(bundle_parts["commitments"], binding_version="x")
    assert _check(bundle_parts, commitments=version)["reason"] == (
        "binding_version_mismatch"
    )
    short = dict(bundle_parts["commitments"], elements=["1"] * 7)
    assert _check(bundle_parts, commitments=short)["reason"] == "binding_malformed"


def test_trusted_key_must_hash_to_its_name(bundle_parts: dict[str, Any]) -> None:
    """A key map entry whose key does not hash to the entry's name fails."""
    ((name, vkey),) = bundle_parts["keys"].items()
    wrong = copy.deepcopy(vkey)
    wrong["IC"][0], wrong["IC"][1] = wrong["IC"][1], wrong["IC"][0]
    report = _check(bundle_parts, verification_keys={name: wrong})
    assert (report["ok"], report["reason"]) == (False, "binding_vkey_hash_mismatch")


@pytest.mark.parametrize("garbage", [None, [], "proof", 7, {}, {"protocol": "groth16"}])
def test_garbage_never_raises(bundle_parts: dict[str, Any], garbage: Any) -> None:
    """Anything that is not a billing_proof is a failed report, not an error."""
    report = _check(bundle_parts, billing_proof=garbage)
    assert report["ok"] is False
    assert report["reason"] == "binding_malformed"
    assert report["vkey_hash"] is None


def test_garbage_commitments_and_backend_never_raise(
    bundle_parts: dict[str, Any],
) -> None:
    """Bad commitments or an unknown backend are failed reports too."""
    assert _check(bundle_parts, commitments=None)["reason"] == "binding_malformed"
    assert _check(bundle_parts, backend="gpu")["reason"] == "groth16_unknown_backend"


def test_groth16_and_binding_import_without_django() -> None:
    """The verifiers are Django-free (CONVENTIONS.md §3)."""
    code = (
        "import sys, circuits.protocol.groth16, circuits.protocol.binding; "
        "sys.exit('django' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
