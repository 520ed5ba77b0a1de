"""The Groth16 prover of ``apiBillingV2``: one in-memory proving key, two
witness paths, every proof verified before it is returned.

- **Witness**: the manifest-pinned ``apiBillingV2_js/apiBillingV2.wasm``
  (circom's own witness calculator, the one snarkjs runs) runs under
  ``wasmtime`` (:class:`circuits.protocol.witness.WitnessCalculator`, about
  1.5 ms, GIL released); the witness is written as an iden3 ``.wtns`` to a
  private temp file (``/dev/shm`` when it exists) and proved with
  ``groth16py.prove_wtns`` (arkworks, GIL released), so threads prove in
  parallel on one key. The older path, ``groth16py.prove(pk, {...})``
  (witness from the ``.wasm`` groth16py compiled from the circom source,
  run under ``wasmi``, GIL held, ~30 ms slower) stays available as an
  independent cross-check: ``prove(..., witness="wasmi")``; the start-up
  self-test proves with both.
- **Self-check**: every proof is verified with the fast backend before it
  is returned (about 2 ms), so the prover never hands out a proof that
  does not verify.

The constructor checks the artifacts (:mod:`circuits.prover.fit`) and loads
the proving key (:mod:`circuits.prover.keycache`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import groth16py

from circuits.protocol.commitments import BINDING_VERSION, billing_public_signal
from circuits.protocol.errors import (
    ManifestError,
    ProofError,
    ProverInputError,
    ProverSelfCheckError,
    ProverUnavailableError,
    ZkeyMismatchError,
)
from circuits.protocol.groth16 import (
    Groth16Proof,
    parse_verification_key,
    proof_from_eth_bytes,
    verify_groth16,
)
from circuits.protocol.manifest import file_sha256, load_manifest
from circuits.protocol.witness import WitnessCalculator, wtns_bytes
from circuits.prover.fit import (
    DEFAULT_WASM,
    MANIFEST_FILENAME,
    check_fit,
    check_pinned,
    check_pinned_file,
)
from circuits.prover.inputs import (
    INPUT_SIGNAL,
    PASS_THROUGH,
    SELF_TEST_INPUTS,
    check_commitments,
)
from circuits.prover.keycache import proving_key_cache_path, proving_key_load
from circuits.prover.pool import get_prover_executor, in_pool_thread

__all__ = ["WITNESS_BACKENDS", "Groth16Prover"]

#: Witness paths :meth:`Groth16Prover.prove_raw` takes: ``"wasmtime"`` (the
#: shipped circom wasm under wasmtime, then ``prove_wtns``; the default) and
#: ``"wasmi"`` (``groth16py.prove``'s own compiled wasm; cross-check).
WITNESS_BACKENDS = ("wasmtime", "wasmi")


def _wtns_dir() -> str | None:
    """``/dev/shm`` (RAM) when usable, else None (the temp directory)."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


_WTNS_DIR = _wtns_dir()


class Groth16Prover:
    """Proves ``apiBillingV2`` statements with one in-memory proving key.

    Build it with the artifact directory (the ceremony's
    ``circuits/apiBillingV2/``: zkey, circom source, r1cs, verification key,
    ``ARTIFACT_MANIFEST.json``, the circom witness calculator
    ``apiBillingV2_js/apiBillingV2.wasm``) and a writable cache directory.
    The constructor does all the slow work once (import or cache load,
    witness-calculator compilation, header checks, self-test proofs);
    :meth:`prove` is then thread-safe and proofs on several threads run in
    parallel.

    Raises (from the constructor):
        ProverUnavailableError: an artifact is missing or unreadable, the
            manifest is malformed or unsigned, or a shipped file does not
            hash to the manifest's value.
        ZkeyMismatchError: the zkey does not fit the circuit (header counts,
            import or proving panics, or the self-test proof fails).
    """

    def __init__(
        self, artifact_dir: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str]
    ) -> None:
        base = Path(artifact_dir)
        self.artifact_dir = base
        self.cache_dir = Path(cache_dir)
        manifest_path = base / MANIFEST_FILENAME
        try:
            manifest = load_manifest(manifest_path)
            self.manifest_sha256 = file_sha256(manifest_path)
        except (ManifestError, OSError) as exc:
            raise ProverUnavailableError(
                f"cannot use {manifest_path}: {exc}", field="manifest"
            ) from None
        signature = manifest.get("signature")
        if not isinstance(signature, dict):
            raise ProverUnavailableError(
                f"{manifest_path} is not signed; a billing proof must name the "
                f"manifest authority kid",
                field="manifest",
            )
        self.manifest_kid: str = signature["kid"]
        self.vkey_hash: str = manifest["vkey_hash"]
        self.circuit_hash: str = manifest["circuit_hash"]
        roles: dict[str, str] = manifest["roles"]
        artifacts: dict[str, str] = manifest["artifacts"]
        self.zkey_path = base / roles["zkey"]
        self.r1cs_path = base / roles["r1cs"]
        self.vkey_path = base / roles["verification_key"]
        self.source_path = base / roles.get("source", "apiBillingV2.circom")
        self.wasm_path = base / roles.get("wasm", DEFAULT_WASM)

        try:
            zkey_bytes = self.zkey_path.read_bytes()
            r1cs_bytes = self.r1cs_path.read_bytes()
            wasm_bytes = self.wasm_path.read_bytes()
            self.verification_key: dict[str, Any] = json.loads(
                self.vkey_path.read_text("utf-8")
            )
            source_sha256 = hashlib.sha256(self.source_path.read_bytes()).hexdigest()
        except (OSError, ValueError) as exc:
            raise ProverUnavailableError(
                f"cannot read the circuit artifacts in {base}: {exc}",
                field="artifacts",
            ) from None
        self.zkey_sha256 = hashlib.sha256(zkey_bytes).hexdigest()
        check_pinned(
            roles=roles,
            artifacts=artifacts,
            zkey_sha256=self.zkey_sha256,
            r1cs_bytes=r1cs_bytes,
            source_sha256=source_sha256,
            circuit_hash=self.circuit_hash,
            verification_key=self.verification_key,
            expected_vkey_hash=self.vkey_hash,
        )
        if "wasm" in roles:
            check_pinned_file(roles["wasm"], artifacts, wasm_bytes)
        self._witness = WitnessCalculator(wasm_bytes)
        check_fit(
            zkey_bytes=zkey_bytes,
            r1cs_bytes=r1cs_bytes,
            witness=self._witness,
            verification_key=self.verification_key,
            zkey_name=self.zkey_path.name,
            r1cs_name=self.r1cs_path.name,
            wasm_name=self.wasm_path.name,
        )
        self._vk = parse_verification_key(self.verification_key)
        self._pk = proving_key_load(
            zkey_path=self.zkey_path,
            source_path=self.source_path,
            cache_dir=self.cache_dir,
            cache_path=proving_key_cache_path(
                self.cache_dir,
                zkey_sha256=self.zkey_sha256,
                source_sha256=source_sha256,
            ),
        )
        self._self_test()

    def _self_test(self) -> None:
        """Prove fixed inputs with both witness paths; both proofs must
        verify under the shipped key (the ``wasmi`` one checks that the zkey
        fits the compiled circom source, the ``wasmtime`` one that it fits
        the shipped wasm)."""
        for witness, other in (
            ("wasmi", f"the compiled {self.source_path.name}"),
            ("wasmtime", self.wasm_path.name),
        ):
            try:
                self.prove(SELF_TEST_INPUTS, witness=witness)
            except (ProverSelfCheckError, ProofError) as exc:
                raise ZkeyMismatchError(
                    f"{self.zkey_path.name} does not fit {other}: the self-test "
                    f"proof ({witness} witness) failed ({exc.code}: "
                    f"{exc.message})"[:600],
                    field="zkey",
                ) from None

    # -- proving ------------------------------------------------------------

    def prove_raw(
        self, commitments: Sequence[int], *, witness: str = "wasmtime"
    ) -> tuple[Groth16Proof, int]:
        """Return ``(proof, public_signal)`` for 8 commitments, unchecked.

        ``witness`` picks the witness path (:data:`WITNESS_BACKENDS`):
        ``"wasmtime"`` (default) runs the shipped circom wasm under wasmtime
        and proves the ``.wtns`` with ``groth16py.prove_wtns``; ``"wasmi"``
        is ``groth16py.prove`` (its own compiled wasm under wasmi), kept as
        an independent cross-check. The proof is not verified here (see
        :meth:`prove`). Thread-safe.

        Raises:
            ProverInputError: not exactly 8 BN254 scalar-field ints, or the
                witness calculation rejected them (circom's message, or
                groth16py's ``WitnessError``).
            ProverSelfCheckError: the witness's public output is not
                ``Poseidon(commitments)``.
            ProverUnavailableError: the ``.wtns`` temp file cannot be
                written.
            ZkeyMismatchError: any other groth16py failure while proving,
                including a Rust panic (the key does not fit the circuit).
            ValueError: an unknown ``witness`` path.
        """
        values = check_commitments(commitments)
        signal = billing_public_signal(values)
        if witness == "wasmtime":
            blob = self._prove_wasmtime(values, signal)
        elif witness == "wasmi":
            blob = self._prove_wasmi(values)
        else:
            raise ValueError(f"witness must be one of {WITNESS_BACKENDS}")
        return proof_from_eth_bytes(blob), signal

    def witness(self, commitments: Sequence[int]) -> list[int]:
        """Return the full witness (411 ints, r1cs wire order) for 8
        commitments, computed by the shipped wasm under wasmtime.

        Raises:
            ProverInputError: as :meth:`prove_raw`.
        """
        values = check_commitments(commitments)
        try:
            return self._witness.calculate({INPUT_SIGNAL: list(values)})
        except ProverInputError as exc:
            raise ProverInputError(exc.message, field="commitments") from None

    def _prove_wasmtime(self, values: tuple[int, ...], signal: int) -> bytes:
        """Witness under wasmtime, ``.wtns`` temp file, ``prove_wtns``."""
        full = self.witness(values)
        if full[1] != signal:
            raise ProverSelfCheckError(
                f"{self.wasm_path.name} computed output {full[1]}, not "
                f"Poseidon(commitments) = {signal}",
                field="witness",
            )
        data = wtns_bytes(full, self._witness.prime, n8=self._witness.n8)
        try:
            fd, path = tempfile.mkstemp(prefix="mp-", suffix=".wtns", dir=_WTNS_DIR)
        except OSError as exc:
            raise ProverUnavailableError(
                f"cannot create a witness file: {exc}", field="wtns"
            ) from None
        try:
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            except OSError as exc:
                raise ProverUnavailableError(
                    f"cannot write the witness file {path}: {exc}", field="wtns"
                ) from None
            try:
                return groth16py.prove_wtns(self._pk, path)
            except PASS_THROUGH:
                raise
            except BaseException as exc:  # PanicException is a BaseException
                raise ZkeyMismatchError(
                    f"proving failed ({type(exc).__name__}): {exc}"[:600],
                    field="zkey",
                ) from None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def _prove_wasmi(self, values: tuple[int, ...]) -> bytes:
        """``groth16py.prove``: wasmi witness from the compiled source."""
        try:
            return groth16py.prove(self._pk, {INPUT_SIGNAL: list(values)})
        except PASS_THROUGH:
            raise
        except groth16py.WitnessError as exc:
            raise ProverInputError(
                f"witness generation rejected the input: {exc}", field="commitments"
            ) from None
        except BaseException as exc:  # PanicException is a BaseException
            raise ZkeyMismatchError(
                f"proving failed ({type(exc).__name__}): {exc}"[:600], field="zkey"
            ) from None

    def prove(
        self, commitments: Sequence[int], *, witness: str = "wasmtime"
    ) -> dict[str, Any]:
        """Return the ``billing_proof`` bundle member for 8 commitments.

        The proof is verified with the fast backend under the shipped
        verification key before it is returned. ``witness`` as in
        :meth:`prove_raw`. Thread-safe; runs on the calling thread.

        Raises:
            ProverInputError: (``groth16_prover_input_invalid``) not exactly
                8 ints in ``[0, SNARK_SCALAR_FIELD)``.
            ProverSelfCheckError: (``groth16_prover_self_check_failed``) the
                fresh proof does not verify.
            ProverUnavailableError: the witness temp file cannot be written.
            ZkeyMismatchError: the backend panicked while proving.
        """
        proof, signal = self.prove_raw(commitments, witness=witness)
        public_signals = [str(signal)]
        proof_json = proof.to_snarkjs()
        try:
            ok = verify_groth16(self.verification_key, proof_json, public_signals)
        except ProofError as exc:
            raise ProverSelfCheckError(
                f"the new proof is rejected by the verifier ({exc.code}: "
                f"{exc.message})",
                field="proof",
            ) from None
        if not ok:
            raise ProverSelfCheckError(
                f"the new proof does not verify under {self.vkey_path.name} "
                f"(vkey_hash {self.vkey_hash})",
                field="proof",
            )
        return {
            "protocol": "groth16",
            "curve": "bn128",
            "proof": proof_json,
            "public_signals": public_signals,
            "vkey_hash": self.vkey_hash,
            "circuit_hash": self.circuit_hash,
            "binding_version": BINDING_VERSION,
            "manifest": {"sha256": self.manifest_sha256, "kid": self.manifest_kid},
        }

    def submit(self, commitments: Sequence[int]) -> Future[dict[str, Any]]:
        """Queue :meth:`prove` on the process-wide prover thread pool.

        The commitments are checked (and copied) before anything is queued,
        so a malformed list raises here. The future's result is the verified
        ``billing_proof`` member; its exception is whatever :meth:`prove`
        raised. Called from a pool thread (a proof job that submits more),
        the proof runs inline and the future is already done, so the pool
        cannot deadlock on itself.

        Raises:
            ProverInputError: not exactly 8 ints in ``[0, SNARK_SCALAR_FIELD)``.
        """
        values = check_commitments(commitments)
        if in_pool_thread():
            future: Future[dict[str, Any]] = Future()
            try:
                future.set_result(self.prove(values))
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                future.set_exception(exc)
            return future
        return get_prover_executor().submit(self.prove, values)

    def prove_many(self, batch: Sequence[Sequence[int]]) -> list[dict[str, Any]]:
        """Prove every commitment list of ``batch`` on the thread pool; return
        the verified members in the same order.

        Every list is checked before any proof starts. If a proof fails, the
        proofs not yet started are cancelled and the first failure (in
        ``batch`` order) is raised.

        Raises:
            ProverInputError: a malformed commitment list (``field`` names
                its index, e.g. ``batch[3].commitments[0]``), or one the
                witness calculation rejects.
            ProverSelfCheckError, ZkeyMismatchError: as :meth:`prove`.
        """
        checked: list[tuple[int, ...]] = []
        for index, commitments in enumerate(batch):
            try:
                checked.append(check_commitments(commitments))
            except ProverInputError as exc:
                raise ProverInputError(
                    f"batch[{index}]: {exc.message}",
                    field=f"batch[{index}].{exc.field or 'commitments'}",
                ) from None
        futures = [self.submit(values) for values in checked]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
