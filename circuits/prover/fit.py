"""Whether the shipped artifacts fit together before the prover trusts them.

Two kinds of check, both run once when a
:class:`~circuits.prover.backend.Groth16Prover` is built:

- **Pins**: every file the prover uses hashes (SHA-256) to the value the
  signed ``ARTIFACT_MANIFEST.json`` pins, the r1cs to its ``circuit_hash``
  and the verification key to its ``vkey_hash``
  (:func:`circuits.protocol.manifest.vkey_hash`).
- **Fit**: the zkey header's counts (wires, public signals, FFT domain size)
  match the shipped r1cs, the circom witness calculator computes over the
  same field with as many wires, and the verification key has as many public
  signals.
"""

from __future__ import annotations

import hashlib
from typing import Any

from circuits.protocol.errors import (
    ProverUnavailableError,
    R1csFormatError,
    ZkeyMismatchError,
)
from circuits.protocol.groth16 import SNARK_SCALAR_FIELD, parse_verification_key
from circuits.protocol.manifest import vkey_hash
from circuits.protocol.r1cs import read_r1cs_header
from circuits.protocol.witness import WitnessCalculator
from circuits.prover.zkey import read_zkey_header

__all__ = [
    "DEFAULT_WASM",
    "MANIFEST_FILENAME",
    "check_fit",
    "check_pinned",
    "check_pinned_file",
]

#: Name of the signed manifest inside the artifact directory.
MANIFEST_FILENAME = "ARTIFACT_MANIFEST.json"
#: The shipped witness calculator, when the manifest names no ``wasm`` role.
DEFAULT_WASM = "apiBillingV2_js/apiBillingV2.wasm"


def check_pinned(
    *,
    roles: dict[str, str],
    artifacts: dict[str, str],
    zkey_sha256: str,
    r1cs_bytes: bytes,
    source_sha256: str,
    circuit_hash: str,
    verification_key: dict[str, Any],
    expected_vkey_hash: str,
) -> None:
    """Check the zkey, r1cs and circom source hash to the manifest's values,
    the r1cs to ``circuit_hash`` and the verification key to ``vkey_hash``.

    Shapes: ``roles`` and ``artifacts`` are the manifest's members (role to
    file name; file name to lowercase-hex SHA-256); digests are lowercase
    hex.

    Raises:
        ProverUnavailableError: a file, the r1cs or the verification key
            does not hash to the pinned value (``field`` names it).
    """
    actual = {
        roles["zkey"]: zkey_sha256,
        roles["r1cs"]: hashlib.sha256(r1cs_bytes).hexdigest(),
    }
    if "source" in roles:
        actual[roles["source"]] = source_sha256
    for name, digest in actual.items():
        if artifacts.get(name) != digest:
            raise ProverUnavailableError(
                f"{name} has SHA-256 {digest}, but {MANIFEST_FILENAME} pins "
                f"{artifacts.get(name)}",
                field=name,
            )
    if actual[roles["r1cs"]] != circuit_hash:
        raise ProverUnavailableError(
            f"r1cs SHA-256 is {actual[roles['r1cs']]}, manifest circuit_hash "
            f"is {circuit_hash}",
            field="circuit_hash",
        )
    computed = vkey_hash(verification_key)
    if computed != expected_vkey_hash:
        raise ProverUnavailableError(
            f"verification key hashes to {computed}, manifest vkey_hash is "
            f"{expected_vkey_hash}",
            field="vkey_hash",
        )


def check_pinned_file(name: str, artifacts: dict[str, str], data: bytes) -> None:
    """Check the file ``name``'s bytes hash to the manifest's pin.

    Raises:
        ProverUnavailableError: another SHA-256, or no pin (``field`` is
            ``name``).
    """
    digest = hashlib.sha256(data).hexdigest()
    if artifacts.get(name) != digest:
        raise ProverUnavailableError(
            f"{name} has SHA-256 {digest}, but {MANIFEST_FILENAME} pins "
            f"{artifacts.get(name)}",
            field=name,
        )


def check_fit(
    *,
    zkey_bytes: bytes,
    r1cs_bytes: bytes,
    witness: WitnessCalculator,
    verification_key: dict[str, Any],
    zkey_name: str,
    r1cs_name: str,
    wasm_name: str,
) -> None:
    """Compare the zkey header with the shipped r1cs header, the witness
    calculator's field and witness size, and the verification key's
    ``nPublic``; the names only word the message.

    Raises:
        ProverUnavailableError: (field ``r1cs``) the r1cs is malformed.
        ZkeyMismatchError: (``groth16_zkey_mismatch``) the zkey is malformed
            or any count differs; the message lists every problem.
    """
    zkey = read_zkey_header(zkey_bytes)
    try:
        r1cs = read_r1cs_header(r1cs_bytes)
    except R1csFormatError as exc:
        raise ProverUnavailableError(f"r1cs: {exc.message}", field="r1cs") from None
    problems = []
    if zkey.r != SNARK_SCALAR_FIELD or r1cs.prime != SNARK_SCALAR_FIELD:
        problems.append("the field is not the BN254 scalar field")
    if zkey.n_vars != r1cs.wires:
        problems.append(f"zkey has {zkey.n_vars} wires, r1cs has {r1cs.wires}")
    if zkey.n_public != r1cs.public_signals:
        problems.append(
            f"zkey has {zkey.n_public} public signals, r1cs has {r1cs.public_signals}"
        )
    needed = r1cs.constraints + r1cs.public_signals + 1
    if zkey.domain_size < needed or zkey.domain_size & (zkey.domain_size - 1):
        problems.append(
            f"zkey domain size {zkey.domain_size} cannot hold {needed} rows"
        )
    if witness.prime != r1cs.prime:
        problems.append(f"{wasm_name} computes over another field ({witness.prime})")
    if witness.witness_size != r1cs.wires:
        problems.append(
            f"{wasm_name} computes {witness.witness_size} wires, r1cs has {r1cs.wires}"
        )
    vk_n_public = parse_verification_key(verification_key).n_public
    if vk_n_public != zkey.n_public:
        problems.append(
            f"verification key has nPublic {vk_n_public}, zkey {zkey.n_public}"
        )
    if problems:
        raise ZkeyMismatchError(
            f"{zkey_name} does not fit {r1cs_name}: " + "; ".join(problems),
            field="zkey",
        )
