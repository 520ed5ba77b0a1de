"""Groth16 prover for the ``apiBillingV2`` circuit, in process (``groth16py``).

Django side (it reads ``settings`` for the artifact and cache directories),
but it touches no database. One module per purpose:

- :mod:`~circuits.prover.backend`: :class:`Groth16Prover` (witness, proof,
  self-check);
- :mod:`~circuits.prover.keycache`: the proving-key import and its cache;
- :mod:`~circuits.prover.fit`: the artifacts' pins and the zkey's fit;
- :mod:`~circuits.prover.zkey`: the ``.zkey`` header reader;
- :mod:`~circuits.prover.inputs`: the 8 commitments' check;
- :mod:`~circuits.prover.pool`: the process-wide proving thread pool;
- :mod:`~circuits.prover.instance`: the process-wide prover
  (:func:`get_prover`, :func:`billing_proof_create`).

The rest of this docstring describes the whole. The heavy lifting is the ``groth16py`` package
(arkworks ``ark-groth16`` over BN254, Rust):

- **Proving key**: ``groth16py.import_zkey(zkey, source, link_libraries)``
  imports the ceremony's ``apiBillingV2_final.zkey`` and compiles the circom
  source in process (circom compiler crates), so the key carries the
  circuit's witness calculator. That costs a few seconds, so the result is
  saved with ``ProvingKey.save`` under the cache directory, keyed by the
  SHA-256 of the zkey and of the source and by the ``groth16py`` version,
  and later processes ``ProvingKey.load`` it (tens of ms). One key per
  process: :func:`get_prover` is a thread-safe lazy singleton.
- **Witness**: circom's own ``.wasm`` witness calculator under
  ``wasmtime``, proved with ``groth16py.prove_wtns`` (GIL released), with
  the ``wasmi`` path as an independent cross-check; see
  :mod:`circuits.prover.backend`. No Node.js is needed.
- **Threads**: :meth:`Groth16Prover.submit` and :meth:`Groth16Prover.prove_many`
  run :meth:`Groth16Prover.prove` on one process-wide thread pool of
  ``settings.VDI_GROTH16_PROVER_THREADS`` threads (default: the CPU count).
- **Fit**: a zkey that does not fit the circuit is refused with
  :class:`~circuits.protocol.errors.ZkeyMismatchError`
  (``groth16_zkey_mismatch``): its header is compared with the shipped
  r1cs (wires, public signals, domain size), and a self-test proof on fixed
  inputs must verify under the shipped verification key. A Rust panic
  (``pyo3_runtime.PanicException``, a ``BaseException``) while importing,
  loading or proving is caught and converted, never let through.
- **Self-check**: every proof is verified before it is returned
  (:mod:`circuits.prover.backend`).

The bundle member it returns (``attestation["billing_proof"]``), stable
field names::

    {"protocol": "groth16", "curve": "bn128",
     "proof": {"pi_a", "pi_b", "pi_c", "protocol", "curve"},  # snarkjs proof.json
     "public_signals": ["<decimal>"],      # [Poseidon(8 commitments)]
     "vkey_hash": "<sha256 hex of JCS(verification_key.json)>",
     "circuit_hash": "<sha256 hex of the r1cs file>",
     "binding_version": "bn128-poseidon8-v1",
     "manifest": {"sha256": "<sha256 hex of ARTIFACT_MANIFEST.json bytes>",
                  "kid": "<RFC 7638 kid of the manifest authority>"}}

``vkey_hash`` and ``circuit_hash`` are copied from the manifest after the
prover has checked that the shipped files hash to them.
"""

from __future__ import annotations

from circuits.prover.backend import WITNESS_BACKENDS, Groth16Prover
from circuits.prover.fit import MANIFEST_FILENAME
from circuits.prover.instance import billing_proof_create, get_prover, reset_prover
from circuits.prover.pool import get_prover_executor, reset_prover_executor
from circuits.prover.zkey import ZkeyHeader, read_zkey_header

__all__ = [
    "MANIFEST_FILENAME",
    "WITNESS_BACKENDS",
    "Groth16Prover",
    "ZkeyHeader",
    "billing_proof_create",
    "get_prover",
    "get_prover_executor",
    "read_zkey_header",
    "reset_prover",
    "reset_prover_executor",
]
