"""Check a bundle's ``billing_proof`` against its ``billing_commitments``.

Django-free. The in-circuit binding (``bn128-poseidon8-v1``): the circuit
``apiBillingV2`` proves knowledge of eight field elements whose circomlib
``Poseidon(8)`` is the single public signal. A bundle carries the eight
elements in clear (``attestation["billing_commitments"]``), so a verifier
recomputes the signal, checks the proof claims exactly that signal, looks up
the verification key the proof names by ``vkey_hash`` among keys it trusts
(from the trust anchors or the signed artifact manifest), re-hashes that key,
and runs the Groth16 verifier.

Shapes (see ``billing/protocol/bundle.py`` and ``circuits/prover/backend.py``)::

    billing_commitments = {"binding_version": "bn128-poseidon8-v1",
                           "elements": ["<decimal>"] * 8,
                           "public_signals": ["<decimal>"]}
    billing_proof = {"protocol": "groth16", "curve": "bn128",
                     "proof": <snarkjs proof.json>,
                     "public_signals": ["<decimal>"],
                     "vkey_hash": "<64 hex>", "circuit_hash": "<64 hex>",
                     "binding_version": "bn128-poseidon8-v1",
                     "manifest": {"sha256": "<64 hex>", "kid": "<kid>"}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from circuits.protocol.commitments import (
    BILLING_COMMITMENT_COUNT,
    BINDING_VERSION,
    billing_public_signal,
)
from circuits.protocol.errors import (
    BindingSignalMismatchError,
    BindingVersionError,
    Groth16BackendError,
    MalformedBillingProofError,
    ProofInvalidError,
    UnknownVerificationKeyError,
    VerificationKeyHashError,
)
from circuits.protocol.groth16 import SNARK_SCALAR_FIELD, verify_groth16
from circuits.protocol.manifest import vkey_hash as compute_vkey_hash
from kernel.protocol.errors import ProtocolError
from kernel.protocol.shape import is_hex, require_hex

__all__ = ["BILLING_PROOF_KEYS", "verify_billing_proof"]

#: The members of a ``billing_proof`` bundle member, all required.
BILLING_PROOF_KEYS = frozenset(
    {
        "protocol",
        "curve",
        "proof",
        "public_signals",
        "vkey_hash",
        "circuit_hash",
        "binding_version",
        "manifest",
    }
)
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,77})\Z")


@lru_cache(maxsize=64)
def _vkey_hash_of_dump(dump: str) -> str:
    """Return the vkey_hash of the key whose sorted ``json.dumps`` is ``dump``
    (a cache key: equal dumps mean equal JSON values, hence equal JCS)."""
    return compute_vkey_hash(json.loads(dump))


def _trusted_vkey_hash(vkey: Mapping[str, Any]) -> str:
    try:
        dump = json.dumps(vkey, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return compute_vkey_hash(vkey)  # raises its own error for non-JSON
    return _vkey_hash_of_dump(dump)


def _malformed(message: str, field: str) -> MalformedBillingProofError:
    return MalformedBillingProofError(message, field=field)


def _check_shape(billing_proof: Any) -> None:
    if not isinstance(billing_proof, Mapping):
        raise _malformed(
            f"billing_proof is a {type(billing_proof).__name__}, expected an object",
            "billing_proof",
        )
    keys = set(billing_proof)
    if keys != BILLING_PROOF_KEYS:
        raise _malformed(
            f"billing_proof has keys {sorted(map(str, keys))}, expected exactly "
            f"{sorted(BILLING_PROOF_KEYS)}",
            "billing_proof",
        )
    for key, expected in (("protocol", "groth16"), ("curve", "bn128")):
        if billing_proof[key] != expected:
            raise _malformed(
                f"billing_proof.{key} is {billing_proof[key]!r:.60}, expected "
                f"{expected!r}",
                f"billing_proof.{key}",
            )
    for key in ("vkey_hash", "circuit_hash"):
        require_hex(
            billing_proof[key],
            error=MalformedBillingProofError,
            field=f"billing_proof.{key}",
            message="{field} is {value!r:.90}, expected {length} lowercase hex",
        )
    manifest = billing_proof["manifest"]
    if (
        not isinstance(manifest, Mapping)
        or set(manifest) != {"sha256", "kid"}
        or not is_hex(manifest["sha256"])
        or not isinstance(manifest["kid"], str)
        or not manifest["kid"]
    ):
        raise _malformed(
            f"billing_proof.manifest is {manifest!r:.120}, expected "
            f'{{"sha256": <64 hex>, "kid": <kid>}}',
            "billing_proof.manifest",
        )


def _expected_signal(commitments: Any) -> str:
    """Return ``str(Poseidon(elements))`` after checking ``commitments``."""
    if not isinstance(commitments, Mapping):
        raise _malformed(
            f"billing_commitments is a {type(commitments).__name__}, expected an "
            f"object",
            "billing_commitments",
        )
    if commitments.get("binding_version") != BINDING_VERSION:
        raise BindingVersionError(
            f"billing_commitments.binding_version is "
            f"{commitments.get('binding_version')!r:.60}, expected {BINDING_VERSION!r}",
            field="billing_commitments.binding_version",
        )
    elements = commitments.get("elements")
    if not isinstance(elements, list) or len(elements) != BILLING_COMMITMENT_COUNT:
        raise _malformed(
            f"billing_commitments.elements is {elements!r:.120}, expected "
            f"{BILLING_COMMITMENT_COUNT} decimal strings",
            "billing_commitments.elements",
        )
    values: list[int] = []
    for index, item in enumerate(elements):
        field = f"billing_commitments.elements[{index}]"
        if not isinstance(item, str) or not _DECIMAL.match(item):
            raise _malformed(
                f"{field} is {item!r:.90}, expected a decimal string", field
            )
        value = int(item)
        if value >= SNARK_SCALAR_FIELD:
            raise _malformed(f"{field} is not a BN254 scalar-field element", field)
        values.append(value)
    signal = str(billing_public_signal(values))
    stated = commitments.get("public_signals")
    if stated is not None and stated != [signal]:
        raise BindingSignalMismatchError(
            f"billing_commitments.public_signals is {stated!r:.120}, but "
            f"Poseidon(elements) is {signal}",
            field="billing_commitments.public_signals",
        )
    return signal


def verify_billing_proof(
    billing_proof: Mapping[str, Any],
    *,
    commitments: Mapping[str, Any],
    verification_keys: Mapping[str, Mapping[str, Any]],
    backend: str = "fast",
) -> dict[str, Any]:
    """Return the in-circuit binding report for a bundle's ``billing_proof``.

    Shapes: ``billing_proof`` and ``commitments`` (the attestation's
    ``billing_commitments``) as in the module docstring;
    ``verification_keys`` maps ``vkey_hash`` (64 lowercase hex) to the
    trusted snarkjs ``verification_key.json`` object, supplied by the
    caller from the trust anchors or a verified artifact manifest;
    ``backend`` is ``"fast"`` or ``"reference"`` (see
    :func:`circuits.protocol.groth16.verify_groth16`).

    Checks, in order: the proof member's layout; ``binding_version`` is
    ``bn128-poseidon8-v1`` on both sides; ``public_signals ==
    [Poseidon(elements)]`` (and the commitments' own ``public_signals``
    agree); ``vkey_hash`` is a key of ``verification_keys`` and that key
    hashes (SHA-256 of RFC 8785 JCS) to it; the Groth16 proof verifies.

    Returns ``{"ok": bool, "backend": str, "vkey_hash": str | None,
    "public_signals": list[str] | None, "reason": str | None}``;
    ``vkey_hash`` and ``public_signals`` echo the proof's claims when they
    have the right type, and ``reason`` is ``None`` when ``ok``, otherwise
    the stable code of the first failed check (e.g.
    ``binding_version_mismatch``, ``binding_public_signal_mismatch``,
    ``binding_vkey_unknown``, ``binding_vkey_hash_mismatch``,
    ``groth16_malformed_proof``, ``groth16_signal_out_of_field``,
    ``groth16_point_not_on_curve``, ``groth16_proof_invalid``).

    Never raises for a bad proof, bad commitments or a bad key: every
    exception becomes ``ok = False`` (fail closed).
    """
    claimed_hash: str | None = None
    claimed_signals: list[str] | None = None
    if isinstance(billing_proof, Mapping):
        value = billing_proof.get("vkey_hash")
        claimed_hash = value if isinstance(value, str) else None
        signals = billing_proof.get("public_signals")
        if isinstance(signals, list) and all(isinstance(s, str) for s in signals):
            claimed_signals = list(signals)
    report: dict[str, Any] = {
        "ok": False,
        "backend": backend,
        "vkey_hash": claimed_hash,
        "public_signals": claimed_signals,
        "reason": None,
    }
    try:
        _verify(billing_proof, commitments, verification_keys, backend)
    except ProtocolError as exc:
        report["reason"] = exc.code
        return report
    except Exception:  # fail closed; the pairing libraries are not ours
        report["reason"] = Groth16BackendError.code
        return report
    report["ok"] = True
    return report


def _verify(
    billing_proof: Any,
    commitments: Any,
    verification_keys: Mapping[str, Mapping[str, Any]],
    backend: str,
) -> None:
    _check_shape(billing_proof)
    if billing_proof["binding_version"] != BINDING_VERSION:
        raise BindingVersionError(
            f"billing_proof.binding_version is "
            f"{billing_proof['binding_version']!r:.60}, expected {BINDING_VERSION!r}",
            field="billing_proof.binding_version",
        )
    signal = _expected_signal(commitments)
    if billing_proof["public_signals"] != [signal]:
        raise BindingSignalMismatchError(
            f"billing_proof.public_signals is {billing_proof['public_signals']!r:.120},"
            f" expected [Poseidon(billing_commitments.elements)] = [{signal}]",
            field="billing_proof.public_signals",
        )
    wanted = billing_proof["vkey_hash"]
    vkey = verification_keys.get(wanted)
    if vkey is None:
        raise UnknownVerificationKeyError(
            f"vkey_hash {wanted} is not among the {len(verification_keys)} trusted "
            f"verification keys",
            field="billing_proof.vkey_hash",
        )
    actual = _trusted_vkey_hash(vkey)
    if actual != wanted:
        raise VerificationKeyHashError(
            f"the verification key trusted under {wanted} hashes to {actual}",
            field="billing_proof.vkey_hash",
        )
    if not verify_groth16(vkey, billing_proof["proof"], [signal], backend):
        raise ProofInvalidError(
            "the Groth16 pairing check fails for this proof, public signal and "
            "verification key",
            field="billing_proof.proof",
        )
