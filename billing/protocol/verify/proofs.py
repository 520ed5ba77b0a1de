"""The billing proof checks: ``billing_proof`` (standard) and
``authority_binding`` (strict), with the manifest helpers they use.

The Groth16 proof binds the signed ``billing_commitments`` in-circuit
(``circuits.protocol.binding``, docs/PROTOCOL.md §4.9); ``authority_binding``
requires its verification key to be authorised by an artifact manifest signed
by a trusted ``manifest_authority`` (docs/PROTOCOL.md §5.3, §9).
"""

from __future__ import annotations

from typing import Any

from circuits.protocol.binding import verify_billing_proof
from circuits.protocol.manifest import verify_manifest_signature, vkey_hash
from kernel.protocol.errors import ProtocolError

from ..errors import CheckFailed, SkipCheck
from .context import CheckContext

__all__ = [
    "authority_binding",
    "billing_proof",
    "manifest_vkey_hashes",
    "verification_key_hash",
]


def billing_proof(ctx: CheckContext) -> None:
    """Verify the ``billing_proof`` member, inside the signed attestation or
    detached at the bundle's top level, with
    :func:`circuits.protocol.binding.verify_billing_proof`: Groth16 against
    the trust anchors' verification keys, public signal recomputed from the
    signed ``billing_commitments``. The report's
    ``incircuit_binding_verification`` is the binding result plus
    ``attachment`` (``embedded`` or ``detached``).

    Raises:
        SkipCheck: ``billing_proof_missing`` when the bundle has none.
        CheckFailed: the binding's ``reason`` (``binding_*``, ``groth16_*``)
            when the proof does not verify.
    """
    proof, where = ctx.bundle.billing_proof
    if not where:
        raise SkipCheck(
            "no billing_proof (optional in the standard profile; an "
            "async proof may not be attached yet)",
            code="billing_proof_missing",
        )
    circuits = ctx.trust.circuits
    result: dict[str, Any] = verify_billing_proof(
        proof,  # type: ignore[arg-type]  # the binding checks the shape
        commitments=ctx.attestation["billing_commitments"],
        verification_keys=circuits.verification_keys if circuits else {},
        backend=ctx.groth16_backend,
    )
    result["attachment"] = "detached" if where == "billing_proof" else "embedded"
    ctx.report.incircuit_binding_verification = result
    if result.get("ok") is not True:
        raise CheckFailed(
            str(result.get("reason") or "billing_proof_invalid"),
            f"billing_proof does not verify: {result.get('reason')}",
            field=where,
        )


def authority_binding(ctx: CheckContext) -> None:
    """Require the proof's ``vkey_hash`` to be listed in a manifest signed by
    a trusted, non-revoked manifest authority, the trusted verification key
    to hash to it, and the proof's ``circuit_hash`` to match that manifest.

    Raises:
        CheckFailed: ``billing_proof_missing``, ``vkey_hash_missing``,
            ``artifact_manifest_missing``, ``manifest_authority_untrusted``,
            ``vkey_not_authorised``, ``verification_key_missing``,
            ``vkey_hash_mismatch``, ``circuit_hash_mismatch``.
    """
    proof, where = ctx.bundle.billing_proof
    where = where or "attestation.billing_proof"
    if not isinstance(proof, dict):
        raise CheckFailed(
            "billing_proof_missing",
            "no billing_proof, so no verification key to authorise",
            field=where,
        )
    wanted = proof.get("vkey_hash")
    if not isinstance(wanted, str):
        raise CheckFailed(
            "vkey_hash_missing",
            "billing_proof.vkey_hash must be a string",
            field=f"{where}.vkey_hash",
        )
    trust = ctx.trust
    circuits = trust.circuits
    if circuits is None or not circuits.manifests:
        raise CheckFailed(
            "artifact_manifest_missing",
            "trust anchors list no signed artifact manifest (circuits.manifests)",
            field="circuits.manifests",
        )
    authorities = {
        key.kid: key.verify_key
        for key in trust.keys_for("manifest_authority")
        if key.status != "revoked"
    }
    if not authorities:
        raise CheckFailed(
            "manifest_authority_untrusted",
            "trust anchors list no manifest_authority key",
            field="keys",
        )
    authorised: dict[str, Any] | None = None
    errors: list[str] = []
    for index, manifest in enumerate(circuits.manifests):
        try:
            verify_manifest_signature(manifest, authorities)
        except ProtocolError as exc:
            errors.append(f"manifests[{index}]: {exc.code}")
            continue
        if wanted in manifest_vkey_hashes(manifest):
            authorised = manifest
            break
    if authorised is None:
        detail = f" (rejected: {', '.join(errors)})" if errors else ""
        raise CheckFailed(
            "vkey_not_authorised",
            f"vkey_hash {wanted} is in no artifact manifest signed by a "
            f"trusted manifest authority{detail}",
            field=f"{where}.vkey_hash",
        )
    vkey = circuits.verification_keys.get(wanted)
    if vkey is None:
        raise CheckFailed(
            "verification_key_missing",
            f"trust anchors hold no verification key for vkey_hash {wanted}",
            field="circuits.verification_keys",
        )
    actual = verification_key_hash(vkey)
    if actual != wanted:
        raise CheckFailed(
            "vkey_hash_mismatch",
            f"the verification key listed under {wanted} hashes to {actual}",
            field="circuits.verification_keys",
        )
    circuit_hash = proof.get("circuit_hash")
    manifest_circuit = authorised.get("circuit_hash")
    if (
        circuit_hash is not None
        and manifest_circuit is not None
        and circuit_hash != manifest_circuit
    ):
        raise CheckFailed(
            "circuit_hash_mismatch",
            f"billing_proof.circuit_hash {circuit_hash} != manifest "
            f"circuit_hash {manifest_circuit}",
            field=f"{where}.circuit_hash",
        )


def manifest_vkey_hashes(manifest: dict[str, Any]) -> set[str]:
    """Return the ``vkey_hash`` a ``vdi-artifact-manifest/1`` document
    authorises (its top-level member; empty when absent)."""
    value = manifest.get("vkey_hash")
    return {value} if isinstance(value, str) else set()


def verification_key_hash(vkey: dict[str, Any]) -> str:
    """Return ``vkey_hash`` of a snarkjs verification key: SHA-256(JCS(vkey)),
    64 lowercase hex (:func:`circuits.protocol.manifest.vkey_hash`).

    Raises:
        ManifestMalformed: the key cannot be canonicalised.
    """
    return vkey_hash(vkey)
