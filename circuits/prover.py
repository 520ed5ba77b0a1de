"""Groth16 prover for the ``apiBillingV2`` circuit, in process (``groth16py``).

Django side (it reads ``settings`` for the artifact and cache directories),
but it touches no database. The heavy lifting is the ``groth16py`` package
(arkworks ``ark-groth16`` over BN254, Rust):

- **Proving key**: ``groth16py.import_zkey(zkey, source, link_libraries)``
  imports the ceremony's ``apiBillingV2_final.zkey`` and compiles the circom
  source in process (circom compiler crates), so the key carries the
  circuit's witness calculator. That costs a few seconds, so the result is
  saved with ``ProvingKey.save`` under the cache directory, keyed by the
  SHA-256 of the zkey and of the source and by the ``groth16py`` version,
  and later processes ``ProvingKey.load`` it (tens of ms). One key per
  process: :func:`get_prover` is a thread-safe lazy singleton.
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
  self-test proves with both. No Node.js is needed.
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
- **Self-check**: every proof is verified with the fast backend before it
  is returned (about 2 ms), so the prover never hands out a proof that
  does not verify.

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

import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import groth16py

from circuits.protocol.binfile import BinFileError, read_bin_file
from circuits.protocol.commitments import (
    BILLING_COMMITMENT_COUNT,
    BINDING_VERSION,
    billing_public_signal,
)
from circuits.protocol.errors import (
    ManifestError,
    ProofError,
    ProverInputError,
    ProverSelfCheckError,
    ProverUnavailableError,
    R1csFormatError,
    ZkeyMismatchError,
)
from circuits.protocol.groth16 import (
    SNARK_SCALAR_FIELD,
    Groth16Proof,
    parse_verification_key,
    proof_from_eth_bytes,
    verify_groth16,
)
from circuits.protocol.manifest import file_sha256, load_manifest, vkey_hash
from circuits.protocol.r1cs import read_r1cs_header
from circuits.protocol.witness import WitnessCalculator, wtns_bytes

__all__ = [
    "MANIFEST_FILENAME",
    "Groth16Prover",
    "ZkeyHeader",
    "WITNESS_BACKENDS",
    "billing_proof_create",
    "get_prover",
    "get_prover_executor",
    "read_zkey_header",
    "reset_prover",
    "reset_prover_executor",
]

logger = logging.getLogger("meterproof.circuits.prover")

#: Name of the signed manifest inside the artifact directory.
MANIFEST_FILENAME = "ARTIFACT_MANIFEST.json"
#: Name of the circuit's input signal (``signal input commitments[8]``).
_INPUT_SIGNAL = "commitments"
#: Fixed inputs of the start-up self-test proof.
_SELF_TEST_INPUTS = tuple(range(1, BILLING_COMMITMENT_COUNT + 1))
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)
_ZKEY_GROTH16 = 1
#: The shipped witness calculator, when the manifest names no ``wasm`` role.
_DEFAULT_WASM = "apiBillingV2_js/apiBillingV2.wasm"
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


@dataclass(frozen=True)
class ZkeyHeader:
    """Counts from a snarkjs Groth16 ``.zkey`` header (section 2).

    ``n_vars`` counts every wire (constant ``one`` included); ``n_public``
    is outputs + public inputs; ``domain_size`` is the FFT domain (a power
    of two, ``>= constraints + n_public + 1``).
    """

    q: int
    r: int
    n_vars: int
    n_public: int
    domain_size: int


def read_zkey_header(data: bytes) -> ZkeyHeader:
    """Return the :class:`ZkeyHeader` of a snarkjs ``.zkey`` file's bytes.

    Layout (little-endian; snarkjs ``src/zkey_utils.js`` ``readHeader``):
    magic ``"zkey"``, version u32, n_sections u32, then sections ``type u32 |
    size u64 | body``; section 1 holds the protocol (u32, 1 = Groth16);
    section 2 holds ``n8q u32 | q | n8r u32 | r | nVars u32 | nPublic u32 |
    domainSize u32 | points...``.

    Raises:
        ZkeyMismatchError: (``groth16_zkey_mismatch``) not a zkey, not
            Groth16, or truncated.
    """

    def fail(why: str) -> ZkeyMismatchError:
        return ZkeyMismatchError(f"zkey is malformed: {why}", field="zkey")

    try:
        sections = read_bin_file(data, b"zkey").sections
    except BinFileError as exc:
        raise fail(str(exc)) from None
    if 1 not in sections or 2 not in sections:
        raise fail("missing header sections 1 and 2")
    start, size = sections[1]
    if size < 4 or struct.unpack_from("<I", data, start)[0] != _ZKEY_GROTH16:
        raise fail("protocol is not Groth16")
    start, size = sections[2]
    try:
        (n8q,) = struct.unpack_from("<I", data, start)
        q = int.from_bytes(data[start + 4 : start + 4 + n8q], "little")
        pos = start + 4 + n8q
        (n8r,) = struct.unpack_from("<I", data, pos)
        r = int.from_bytes(data[pos + 4 : pos + 4 + n8r], "little")
        pos += 4 + n8r
        n_vars, n_public, domain_size = struct.unpack_from("<III", data, pos)
    except struct.error as exc:
        raise fail(f"truncated Groth16 header ({exc})") from None
    return ZkeyHeader(
        q=q, r=r, n_vars=n_vars, n_public=n_public, domain_size=domain_size
    )


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _link_libraries(cache_dir: Path) -> list[str]:
    """Return include dirs for the circom source: groth16py's vendored
    circomlib 2.0.5 ``circuits/`` (for ``include "poseidon.circom"``) and a
    directory where ``circomlib/circuits/...`` resolves to it too."""
    vendored = Path(groth16py.circomlib_path(2))
    alias_root = cache_dir / "include"
    alias = alias_root / "circomlib"
    try:
        alias_root.mkdir(parents=True, exist_ok=True)
        if not alias.exists():
            alias.symlink_to(vendored.parent, target_is_directory=True)
    except OSError:  # read-only cache: the plain include still works
        return [str(vendored)]
    return [str(vendored), str(alias_root)]


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
        self.wasm_path = base / roles.get("wasm", _DEFAULT_WASM)

        try:
            zkey_bytes = self.zkey_path.read_bytes()
            r1cs_bytes = self.r1cs_path.read_bytes()
            wasm_bytes = self.wasm_path.read_bytes()
            self.verification_key: dict[str, Any] = json.loads(
                self.vkey_path.read_text("utf-8")
            )
            source_sha256 = _sha256_file(self.source_path)
        except (OSError, ValueError) as exc:
            raise ProverUnavailableError(
                f"cannot read the circuit artifacts in {base}: {exc}",
                field="artifacts",
            ) from None
        self.zkey_sha256 = hashlib.sha256(zkey_bytes).hexdigest()
        self._check_pinned(roles, artifacts, zkey_bytes, r1cs_bytes, source_sha256)
        if "wasm" in roles:
            self._check_pinned_file(roles["wasm"], artifacts, wasm_bytes)
        self._witness = WitnessCalculator(wasm_bytes)
        self._check_fit(zkey_bytes, r1cs_bytes)
        self._vk = parse_verification_key(self.verification_key)
        self._pk = self._load_proving_key(source_sha256)
        self._self_test()

    # -- construction steps -------------------------------------------------

    def _check_pinned(
        self,
        roles: dict[str, str],
        artifacts: dict[str, str],
        zkey_bytes: bytes,
        r1cs_bytes: bytes,
        source_sha256: str,
    ) -> None:
        """Check the files we use hash to the manifest's values."""
        actual = {
            roles["zkey"]: self.zkey_sha256,
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
        if actual[roles["r1cs"]] != self.circuit_hash:
            raise ProverUnavailableError(
                f"r1cs SHA-256 is {actual[roles['r1cs']]}, manifest circuit_hash "
                f"is {self.circuit_hash}",
                field="circuit_hash",
            )
        computed = vkey_hash(self.verification_key)
        if computed != self.vkey_hash:
            raise ProverUnavailableError(
                f"verification key hashes to {computed}, manifest vkey_hash is "
                f"{self.vkey_hash}",
                field="vkey_hash",
            )

    @staticmethod
    def _check_pinned_file(name: str, artifacts: dict[str, str], data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if artifacts.get(name) != digest:
            raise ProverUnavailableError(
                f"{name} has SHA-256 {digest}, but {MANIFEST_FILENAME} pins "
                f"{artifacts.get(name)}",
                field=name,
            )

    def _check_fit(self, zkey_bytes: bytes, r1cs_bytes: bytes) -> None:
        """Compare the zkey header with the shipped r1cs header and the
        witness calculator's field and witness size."""
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
                f"zkey has {zkey.n_public} public signals, r1cs has "
                f"{r1cs.public_signals}"
            )
        needed = r1cs.constraints + r1cs.public_signals + 1
        if zkey.domain_size < needed or zkey.domain_size & (zkey.domain_size - 1):
            problems.append(
                f"zkey domain size {zkey.domain_size} cannot hold {needed} rows"
            )
        if self._witness.prime != r1cs.prime:
            problems.append(
                f"{self.wasm_path.name} computes over another field "
                f"({self._witness.prime})"
            )
        if self._witness.witness_size != r1cs.wires:
            problems.append(
                f"{self.wasm_path.name} computes {self._witness.witness_size} "
                f"wires, r1cs has {r1cs.wires}"
            )
        if self._vk_n_public() != zkey.n_public:
            problems.append(
                f"verification key has nPublic {self._vk_n_public()}, zkey "
                f"{zkey.n_public}"
            )
        if problems:
            raise ZkeyMismatchError(
                f"{self.zkey_path.name} does not fit {self.r1cs_path.name}: "
                + "; ".join(problems),
                field="zkey",
            )

    def _vk_n_public(self) -> int:
        return parse_verification_key(self.verification_key).n_public

    def _cache_path(self, source_sha256: str) -> Path:
        name = (
            f"apiBillingV2-{self.zkey_sha256[:24]}-{source_sha256[:16]}"
            f"-groth16py{groth16py.__version__}.pk"
        )
        return self.cache_dir / name

    def _load_proving_key(self, source_sha256: str) -> groth16py.ProvingKey:
        """Load the proving key from the cache, or import and cache it."""
        path = self._cache_path(source_sha256)
        if path.exists():
            try:
                return groth16py.ProvingKey.load(str(path))
            except _PASS_THROUGH:
                raise
            except BaseException as exc:  # a corrupt cache may panic
                logger.warning(
                    "discarding unreadable proving-key cache %s: %s", path, exc
                )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            pk, _vk = groth16py.import_zkey(
                str(self.zkey_path),
                str(self.source_path),
                _link_libraries(self.cache_dir),
            )
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # SetupError, WitnessError, PanicException
            raise ZkeyMismatchError(
                f"importing {self.zkey_path.name} with {self.source_path.name} "
                f"failed ({type(exc).__name__}): {exc}"[:600],
                field="zkey",
            ) from None
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
        os.close(fd)
        try:
            pk.save(tmp)
            os.replace(tmp, path)
        except BaseException as exc:
            if isinstance(exc, _PASS_THROUGH):
                raise
            logger.warning("cannot write proving-key cache %s: %s", path, exc)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return pk

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
                self.prove(_SELF_TEST_INPUTS, witness=witness)
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
        values = _check_commitments(commitments)
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
        values = _check_commitments(commitments)
        try:
            return self._witness.calculate({_INPUT_SIGNAL: list(values)})
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
            except _PASS_THROUGH:
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
            return groth16py.prove(self._pk, {_INPUT_SIGNAL: list(values)})
        except _PASS_THROUGH:
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
        values = _check_commitments(commitments)
        if getattr(_POOL_THREAD, "active", False):
            future: Future[dict[str, Any]] = Future()
            try:
                future.set_result(self.prove(values))
            except _PASS_THROUGH:
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
                checked.append(_check_commitments(commitments))
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


def _check_commitments(commitments: Sequence[int]) -> tuple[int, ...]:
    if isinstance(commitments, (str, bytes)) or not isinstance(commitments, Sequence):
        raise ProverInputError(
            f"commitments are a {type(commitments).__name__}, expected a list of "
            f"{BILLING_COMMITMENT_COUNT} ints",
            field="commitments",
        )
    if len(commitments) != BILLING_COMMITMENT_COUNT:
        raise ProverInputError(
            f"got {len(commitments)} commitments, expected {BILLING_COMMITMENT_COUNT}",
            field="commitments",
        )
    for index, value in enumerate(commitments):
        if type(value) is not int or not 0 <= value < SNARK_SCALAR_FIELD:
            raise ProverInputError(
                f"commitments[{index}] is {value!r:.90}, expected an int in "
                f"[0, SNARK_SCALAR_FIELD)",
                field=f"commitments[{index}]",
            )
    return tuple(commitments)


_PROVER: Groth16Prover | None = None
_PROVER_LOCK = threading.Lock()


def get_prover() -> Groth16Prover:
    """Return the process-wide :class:`Groth16Prover`, building it on first use.

    Reads ``settings.VDI_CIRCUIT_ARTIFACTS_DIR`` (the artifact directory) and
    ``settings.VDI_GROTH16_PROVER_CACHE_DIR`` (default ``VAR_DIR/groth16``).
    Thread-safe: concurrent first callers build it once. A failure is not
    cached: the next call tries again.

    Raises:
        ProverUnavailableError, ZkeyMismatchError: see :class:`Groth16Prover`.
    """
    global _PROVER
    prover = _PROVER
    if prover is not None:
        return prover
    with _PROVER_LOCK:
        if _PROVER is None:
            from django.conf import settings

            cache_dir = getattr(settings, "VDI_GROTH16_PROVER_CACHE_DIR", None) or (
                Path(settings.VAR_DIR) / "groth16"
            )
            _PROVER = Groth16Prover(
                settings.VDI_CIRCUIT_ARTIFACTS_DIR, cache_dir=cache_dir
            )
        return _PROVER


def reset_prover() -> None:
    """Forget the process-wide prover (tests; after artifacts change)."""
    global _PROVER
    with _PROVER_LOCK:
        _PROVER = None


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_PID = 0
_EXECUTOR_LOCK = threading.Lock()
_POOL_THREAD = threading.local()


def _prover_threads() -> int:
    """``settings.VDI_GROTH16_PROVER_THREADS`` when Django is configured,
    else the CPU count; at least 1."""
    threads: Any = None
    try:
        from django.conf import settings

        if settings.configured:
            threads = getattr(settings, "VDI_GROTH16_PROVER_THREADS", None)
    except ImportError:  # pragma: no cover - Django is a dependency
        pass
    if threads is None:
        threads = os.cpu_count() or 1
    return max(1, int(threads))


def _mark_pool_thread() -> None:
    _POOL_THREAD.active = True


def get_prover_executor() -> ThreadPoolExecutor:
    """Return the process-wide proving thread pool, creating it on first use.

    Sized by ``settings.VDI_GROTH16_PROVER_THREADS`` (default: the CPU
    count); threads are named ``groth16-prover``. A forked child (gunicorn,
    Celery prefork) gets a fresh pool: the parent's threads do not survive
    a fork. Thread-safe.
    """
    global _EXECUTOR, _EXECUTOR_PID
    executor, pid = _EXECUTOR, os.getpid()
    if executor is not None and _EXECUTOR_PID == pid:
        return executor
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None or _EXECUTOR_PID != pid:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=_prover_threads(),
                thread_name_prefix="groth16-prover",
                initializer=_mark_pool_thread,
            )
            _EXECUTOR_PID = pid
        return _EXECUTOR


def reset_prover_executor() -> None:
    """Shut the process-wide proving pool down (waiting for queued proofs);
    the next :func:`get_prover_executor` builds a new one, re-reading the
    setting. For tests and reconfiguration."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        executor, _EXECUTOR = _EXECUTOR, None
    if executor is not None and _EXECUTOR_PID == os.getpid():
        executor.shutdown(wait=True)


def billing_proof_create(commitments: list[int]) -> dict[str, Any]:
    """Return the ``billing_proof`` bundle member proving ``Poseidon(commitments)``.

    Shapes: ``commitments`` are the 8 BN254 scalar-field ints of
    ``billing_commitments["elements"]`` (as ints). The result's layout is in
    the module docstring; ``public_signals == [str(Poseidon(commitments))]``.
    The proof is checked with the fast verifier before it is returned.

    Raises:
        ProverInputError: malformed ``commitments``.
        ProverUnavailableError, ZkeyMismatchError: the prover cannot start.
        ProverSelfCheckError: the fresh proof does not verify.
    """
    return get_prover().prove(commitments)
