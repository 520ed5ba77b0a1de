"""Errors raised by ``circuits.protocol`` (Poseidon, commitments, manifest).

Every class derives from :class:`kernel.protocol.errors.ProtocolError`
(the lowest layer) through :class:`CircuitsProtocolError`, and carries a
stable snake_case ``code`` that the HTTP layer and the offline CLI report.
"""

from __future__ import annotations

from kernel.protocol.errors import ProtocolError

__all__ = [
    "BinFileError",
    "PoseidonConstantsError",
    "WitnessFileError",
    "WitnessValueError",
    "CircuitsProtocolError",
    "CommitmentError",
    "ManifestError",
    "ManifestMalformed",
    "ManifestMissing",
    "ManifestSignatureInvalid",
    "ManifestUnknownAuthority",
    "PoseidonError",
    "R1csFormatError",
    # Groth16 (circuits.protocol.groth16, circuits.prover) and the binding.
    "BindingError",
    "BindingSignalMismatchError",
    "BindingVersionError",
    "Groth16BackendError",
    "MalformedBillingProofError",
    "MalformedProofError",
    "MalformedPublicSignalsError",
    "MalformedVerificationKeyError",
    "PointNotInSubgroupError",
    "PointNotOnCurveError",
    "ProofError",
    "ProofInvalidError",
    "ProverInputError",
    "ProverSelfCheckError",
    "ProverUnavailableError",
    "SignalOutOfFieldError",
    "UnknownBackendError",
    "UnknownVerificationKeyError",
    "VerificationKeyHashError",
    "ZkeyMismatchError",
]


class CircuitsProtocolError(ProtocolError):
    """Root of the errors raised by ``circuits.protocol``."""

    code = "circuits_protocol_error"


class PoseidonError(CircuitsProtocolError):
    """Poseidon input is not a list of 1..16 BN254 scalar-field elements.

    Raised for a wrong number of inputs, a non-``int`` (including ``bool``),
    a negative value, or a value ``>= SNARK_SCALAR_FIELD``.
    """

    code = "poseidon_input_invalid"


class CommitmentError(CircuitsProtocolError):
    """A digest to commit to is not a 32-byte SHA-256 digest in lowercase hex."""

    code = "commitment_digest_invalid"


class ManifestError(CircuitsProtocolError):
    """Root of the artifact-manifest errors (``ARTIFACT_MANIFEST.json``)."""

    code = "manifest_error"


class ManifestMalformed(ManifestError):
    """The manifest is not JSON, or misses or mistypes a required member."""

    code = "manifest_malformed"


class ManifestUnknownAuthority(ManifestError):
    """The manifest is signed by a ``kid`` that is not a trusted authority."""

    code = "manifest_unknown_authority"


class ManifestSignatureInvalid(ManifestError):
    """The manifest's Ed25519 signature is malformed or does not verify."""

    code = "manifest_signature_invalid"


class R1csFormatError(CircuitsProtocolError):
    """An ``.r1cs`` file is not a circom R1CS (iden3 binary format v1)."""

    code = "r1cs_malformed"


class ManifestMissing(ManifestError):
    """The manifest file does not exist or cannot be read."""

    code = "manifest_missing"


class ProofError(CircuitsProtocolError):
    """Root of the Groth16 errors (parsing, verifying and proving).

    A well-formed proof that does not verify is *not* an error:
    ``verify_groth16`` returns ``False`` for it. These classes are raised for
    inputs that are not a proof at all, and for backend failures.
    """

    code = "groth16_proof_error"


class MalformedProofError(ProofError):
    """``proof.json`` does not follow the snarkjs Groth16 layout.

    Raised for a non-object, missing or extra keys, a ``protocol`` other
    than ``groth16`` or ``curve`` other than ``bn128``, a coordinate that is
    not a canonical decimal string in ``[0, q)`` (BN254 base field), or a
    projective ``z`` other than ``"1"`` (G1) / ``["1", "0"]`` (G2).
    """

    code = "groth16_malformed_proof"


class MalformedVerificationKeyError(ProofError):
    """``verification_key.json`` does not follow the snarkjs Groth16 layout.

    Same coordinate rules as :class:`MalformedProofError`; also raised when
    ``nPublic`` does not equal ``len(IC) - 1``.
    """

    code = "groth16_malformed_vkey"


class MalformedPublicSignalsError(ProofError):
    """``public.json`` is not a list of canonical decimal strings, or has the
    wrong number of entries for the verification key (``nPublic``)."""

    code = "groth16_malformed_public_signals"


class SignalOutOfFieldError(MalformedPublicSignalsError):
    """A public signal is a decimal integer outside ``[0, r)``, the BN254
    scalar field (negative, or ``>= SNARK_SCALAR_FIELD``)."""

    code = "groth16_signal_out_of_field"


class PointNotOnCurveError(ProofError):
    """A G1 point is not on ``y^2 = x^3 + 3`` or a G2 point is not on the
    twist ``y^2 = x^3 + 3/(9+u)`` (BN254). The point at infinity, which the
    snarkjs affine layout cannot carry with ``z = 1``, is reported here too
    (``(0, 0)`` is not on either curve)."""

    code = "groth16_point_not_on_curve"


class PointNotInSubgroupError(ProofError):
    """A G2 point is on the twist but not in the order-``r`` subgroup."""

    code = "groth16_point_not_in_subgroup"


class UnknownBackendError(ProofError):
    """``backend`` is neither ``"fast"`` nor ``"reference"``."""

    code = "groth16_unknown_backend"


class Groth16BackendError(ProofError):
    """The native backend (``groth16py``) failed in an unexpected way,
    including a Rust panic (``pyo3_runtime.PanicException``), which is
    converted to this error so it never escapes as a ``BaseException``."""

    code = "groth16_backend_error"


class ZkeyMismatchError(ProofError):
    """The proving key (``.zkey``) does not fit the compiled circuit.

    Raised when the zkey and the r1cs headers disagree (wires, public
    signals, domain), when importing or proving panics, or when the prover's
    start-up self-test proof does not verify under the zkey's own
    verification key.
    """

    code = "groth16_zkey_mismatch"


class ProverUnavailableError(ProofError):
    """The prover cannot run: an artifact (zkey, circuit source, manifest)
    is missing or unreadable, or ``groth16py`` lacks its native features."""

    code = "groth16_prover_unavailable"


class ProverSelfCheckError(ProofError):
    """A proof the prover just made did not verify under the shipped
    verification key (the prover checks every proof before returning it)."""

    code = "groth16_prover_self_check_failed"


class ProverInputError(ProofError):
    """The prover's input is not exactly 8 BN254 scalar-field elements."""

    code = "groth16_prover_input_invalid"


class BindingError(CircuitsProtocolError):
    """Root of the in-circuit binding failures reported by
    ``circuits.protocol.binding.verify_billing_proof`` (as ``reason``)."""

    code = "binding_invalid"


class MalformedBillingProofError(BindingError):
    """``billing_proof`` or ``billing_commitments`` lacks a field or has one
    of the wrong type (see ``circuits.protocol.binding``)."""

    code = "binding_malformed"


class BindingVersionError(BindingError):
    """``binding_version`` is not ``bn128-poseidon8-v1`` or the proof's and
    the commitments' versions differ."""

    code = "binding_version_mismatch"


class BindingSignalMismatchError(BindingError):
    """The proof's ``public_signals`` are not ``[Poseidon(elements)]`` of the
    bundle's ``billing_commitments``."""

    code = "binding_public_signal_mismatch"


class UnknownVerificationKeyError(BindingError):
    """The proof's ``vkey_hash`` is not among the trusted verification keys."""

    code = "binding_vkey_unknown"


class VerificationKeyHashError(BindingError):
    """The trusted verification key listed under a ``vkey_hash`` does not
    hash (SHA-256 of its RFC 8785 canonical JSON) to that ``vkey_hash``."""

    code = "binding_vkey_hash_mismatch"


class ProofInvalidError(BindingError):
    """The Groth16 proof is well formed but the pairing check fails."""

    code = "groth16_proof_invalid"


class BinFileError(CircuitsProtocolError, ValueError):
    """The bytes are not a well-formed iden3 binary container (``.r1cs``,
    ``.wtns``, ``.zkey``): bad magic, truncated header or section table, or a
    section that overruns the file (the message says which).

    Raised by :func:`circuits.protocol.binfile.read_bin_file`. Also a
    ``ValueError``, as before.
    """

    code = "binfile_malformed"


class WitnessFileError(CircuitsProtocolError, ValueError):
    """``.wtns`` bytes are not a version-2 snarkjs witness file: bad magic or
    version, a missing or truncated section, or a section-2 size that
    disagrees with the header.

    Raised by :func:`circuits.protocol.witness.read_wtns`. Also a
    ``ValueError``, as before.
    """

    code = "wtns_malformed"


class WitnessValueError(CircuitsProtocolError, ValueError):
    """A witness does not fit its field or circuit: a value outside ``[0,
    prime)``, a prime wider than ``n8`` bytes, a length other than the
    R1CS's wire count, or ``witness[0]`` (the constant wire) not 1.

    Raised by :func:`circuits.protocol.witness.write_wtns` and
    :func:`circuits.protocol.r1cs.r1cs_unsatisfied`. Also a ``ValueError``,
    as before.
    """

    code = "witness_invalid"


class PoseidonConstantsError(CircuitsProtocolError, RuntimeError):
    """The shipped Poseidon constants (``data/poseidon_constants.json``) do
    not describe the instance ``circuits.protocol.poseidon`` implements (field
    modulus, round numbers, matrix shapes): a broken installation.

    Also a ``RuntimeError``, as before.
    """

    code = "poseidon_constants_invalid"
