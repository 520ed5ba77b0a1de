"""The in-process Groth16 prover (``circuits.prover``).

Proofs come from the shipped ceremony artifacts; a zkey that does not fit
the circuit is refused with ``groth16_zkey_mismatch`` (never a Rust panic);
the bundle member's fields are what the manifest says; and, when node and
snarkjs are available (``SNARKJS=/path/to/snarkjs``), ``snarkjs groth16
verify`` accepts our proofs.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from circuits.protocol.commitments import billing_public_signal
from circuits.protocol.errors import (
    ProverInputError,
    ProverUnavailableError,
    ZkeyMismatchError,
)
from circuits.protocol.groth16 import SNARK_SCALAR_FIELD, verify_groth16
from circuits.protocol.manifest import build_manifest, sign_manifest, vkey_hash
from circuits.protocol.r1cs import r1cs_unsatisfied, read_r1cs
from circuits.prover import (
    MANIFEST_FILENAME,
    Groth16Prover,
    billing_proof_create,
    get_prover,
    get_prover_executor,
    read_zkey_header,
    reset_prover,
    reset_prover_executor,
)
from tests.circuits.groth16_support import ARTIFACT_DIR, snarkjs_path

COMMITMENTS = [(i + 1) * 0x1234_5678_9ABC_DEF0 for i in range(8)]
ROLES = {
    "source": "apiBillingV2.circom",
    "r1cs": "apiBillingV2.r1cs",
    "zkey": "apiBillingV2_final.zkey",
    "verification_key": "verification_key.json",
    "transcript": "transcript.json",
    "wasm": "apiBillingV2_js/apiBillingV2.wasm",
}


def _artifact_copy(tmp_path: Path, *, source: str | None = None) -> Path:
    """Copy the shipped artifacts (optionally with another circom source) and
    sign a fresh manifest for them with a throwaway authority key."""
    target = tmp_path / "artifacts"
    target.mkdir()
    for name in ROLES.values():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACT_DIR / name, target / name)
    if source is not None:
        (target / ROLES["source"]).write_text(source)
    _sign_fresh_manifest(target)
    return target


def _sign_fresh_manifest(target: Path) -> None:
    """Write a manifest of the files in ``target`` (as they are now), signed
    by a throwaway authority key."""
    manifest = build_manifest(
        target,
        circuit="apiBillingV2",
        binding_version="bn128-poseidon8-v1",
        roles=ROLES,
        toolchain={},
        created_at="2026-11-21T00:00:00Z",
    )
    signed = sign_manifest(manifest, nacl.signing.SigningKey.generate())
    (target / MANIFEST_FILENAME).write_text(json.dumps(signed))


# --------------------------------------------------------------------------
# The bundle member
# --------------------------------------------------------------------------


@pytest.fixture()
def prover_settings(settings: Any, groth16_cache_dir: Path) -> Any:
    """Point the process-wide prover at the shipped artifacts and the
    session cache; forget it afterwards."""
    settings.VDI_CIRCUIT_ARTIFACTS_DIR = ARTIFACT_DIR
    settings.VDI_GROTH16_PROVER_CACHE_DIR = groth16_cache_dir
    reset_prover()
    yield settings
    reset_prover()


def test_billing_proof_create_returns_the_documented_member(
    prover_settings: Any, shipped_vkey: dict[str, Any]
) -> None:
    """The member names the shipped key, circuit and signed manifest, claims
    [Poseidon(commitments)] and verifies."""
    member = billing_proof_create(COMMITMENTS)
    manifest_bytes = (ARTIFACT_DIR / MANIFEST_FILENAME).read_bytes()
    manifest = json.loads(manifest_bytes)
    assert set(member) == {
        "protocol",
        "curve",
        "proof",
        "public_signals",
        "vkey_hash",
        "circuit_hash",
        "binding_version",
        "manifest",
    }
    assert member["protocol"] == "groth16"
    assert member["curve"] == "bn128"
    assert member["binding_version"] == "bn128-poseidon8-v1"
    assert member["public_signals"] == [str(billing_public_signal(COMMITMENTS))]
    assert member["vkey_hash"] == vkey_hash(shipped_vkey) == manifest["vkey_hash"]
    assert (
        member["circuit_hash"]
        == hashlib.sha256((ARTIFACT_DIR / "apiBillingV2.r1cs").read_bytes()).hexdigest()
    )
    assert member["manifest"] == {
        "sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "kid": manifest["signature"]["kid"],
    }
    assert set(member["proof"]) == {"pi_a", "pi_b", "pi_c", "protocol", "curve"}
    assert verify_groth16(shipped_vkey, member["proof"], member["public_signals"])


def test_get_prover_is_one_instance_across_threads(prover_settings: Any) -> None:
    """Concurrent first callers share one prover (one proving key per process)."""
    seen: list[Groth16Prover] = []
    threads = [
        threading.Thread(target=lambda: seen.append(get_prover())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert all(p is seen[0] for p in seen)


def test_proving_key_is_loaded_from_the_cache(
    groth16_prover: Groth16Prover, groth16_cache_dir: Path
) -> None:
    """A second prover reuses the saved key file instead of re-importing."""
    cached = sorted(groth16_cache_dir.glob("*.pk"))
    assert len(cached) == 1
    assert groth16_prover.zkey_sha256[:24] in cached[0].name
    before = cached[0].stat().st_mtime_ns
    again = Groth16Prover(ARTIFACT_DIR, cache_dir=groth16_cache_dir)
    assert cached[0].stat().st_mtime_ns == before
    member = again.prove(COMMITMENTS)
    assert verify_groth16(
        again.verification_key, member["proof"], member["public_signals"]
    )


def test_zkey_header_matches_the_r1cs(groth16_prover: Groth16Prover) -> None:
    """The shipped zkey is for 411 wires, 1 public signal, a 512-row domain."""
    header = read_zkey_header(groth16_prover.zkey_path.read_bytes())
    assert (header.n_vars, header.n_public, header.domain_size) == (411, 1, 512)
    assert header.r == SNARK_SCALAR_FIELD


@pytest.mark.parametrize(
    "commitments",
    [
        COMMITMENTS[:7],
        COMMITMENTS + [1],
        [SNARK_SCALAR_FIELD] + COMMITMENTS[1:],
        [-1] + COMMITMENTS[1:],
        [True] + COMMITMENTS[1:],
        [str(c) for c in COMMITMENTS],
        "12345678",
    ],
)
def test_bad_commitments_are_refused(
    groth16_prover: Groth16Prover, commitments: Any
) -> None:
    """Only 8 ints in [0, r) are proved."""
    with pytest.raises(ProverInputError) as info:
        groth16_prover.prove(commitments)
    assert info.value.code == "groth16_prover_input_invalid"


# --------------------------------------------------------------------------
# Witness paths: wasmtime (default) and wasmi (groth16py.prove, cross-check)
# --------------------------------------------------------------------------


def _random_commitments(seed: str, count: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(SNARK_SCALAR_FIELD) for _ in range(8)] for _ in range(count)]


def test_wasmtime_proof_verifies_under_both_backends(
    groth16_prover: Groth16Prover, shipped_vkey: dict[str, Any]
) -> None:
    """A prove_wtns proof (wasmtime witness) verifies under groth16py and
    under the pure-Python py_ecc reference; a neighbouring signal does not."""
    (commitments,) = _random_commitments("both-backends", 1)
    member = groth16_prover.prove(commitments)
    public = member["public_signals"]
    assert public == [str(billing_public_signal(commitments))]
    assert verify_groth16(shipped_vkey, member["proof"], public, "fast")
    assert verify_groth16(shipped_vkey, member["proof"], public, "reference")
    wrong = [str((int(public[0]) + 1) % SNARK_SCALAR_FIELD)]
    assert not verify_groth16(shipped_vkey, member["proof"], wrong, "fast")


def test_wasmi_and_wasmtime_paths_both_verify(
    groth16_prover: Groth16Prover, shipped_vkey: dict[str, Any]
) -> None:
    """Both witness paths prove the same statement; both proofs verify
    (they differ: Groth16 proofs are randomised)."""
    for commitments in _random_commitments("paths", 2):
        fast = groth16_prover.prove(commitments, witness="wasmtime")
        slow = groth16_prover.prove(commitments, witness="wasmi")
        assert fast["public_signals"] == slow["public_signals"]
        assert fast["proof"] != slow["proof"]
        for member in (fast, slow):
            assert verify_groth16(
                shipped_vkey, member["proof"], member["public_signals"]
            )


def test_prover_witness_satisfies_the_shipped_r1cs(
    groth16_prover: Groth16Prover,
) -> None:
    """The witness the prover proves satisfies all 402 constraints and
    carries Poseidon(commitments) as its public output."""
    r1cs = read_r1cs(groth16_prover.r1cs_path.read_bytes())
    for commitments in _random_commitments("prover-r1cs", 3):
        witness = groth16_prover.witness(commitments)
        assert len(witness) == 411
        assert witness[1] == billing_public_signal(commitments)
        assert r1cs_unsatisfied(r1cs, witness) == []


def test_unknown_witness_path_is_refused(groth16_prover: Groth16Prover) -> None:
    """Only "wasmtime" and "wasmi"."""
    with pytest.raises(ValueError):
        groth16_prover.prove_raw(COMMITMENTS, witness="node")


def test_no_witness_file_is_left_behind(
    groth16_prover: Groth16Prover, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-proof .wtns temp file is removed after proving."""
    import circuits.prover.backend as prover_module

    monkeypatch.setattr(prover_module, "_WTNS_DIR", str(tmp_path))
    groth16_prover.prove(COMMITMENTS)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# The thread pool: submit / prove_many
# --------------------------------------------------------------------------


@pytest.fixture()
def prover_pool(settings: Any) -> Any:
    """A fresh process-wide pool of 2 threads, shut down afterwards."""
    settings.VDI_GROTH16_PROVER_THREADS = 2
    reset_prover_executor()
    yield settings
    reset_prover_executor()


def test_pool_size_comes_from_the_setting(prover_pool: Any) -> None:
    """VDI_GROTH16_PROVER_THREADS sizes the pool; reset re-reads it."""
    assert get_prover_executor()._max_workers == 2
    assert get_prover_executor() is get_prover_executor()
    prover_pool.VDI_GROTH16_PROVER_THREADS = 3
    reset_prover_executor()
    assert get_prover_executor()._max_workers == 3


def test_prove_many_returns_verified_members_in_order(
    groth16_prover: Groth16Prover, shipped_vkey: dict[str, Any], prover_pool: Any
) -> None:
    """prove_many proves on the pool and keeps the input order."""
    batch = _random_commitments("prove-many", 6)
    members = groth16_prover.prove_many(batch)
    assert [m["public_signals"] for m in members] == [
        [str(billing_public_signal(c))] for c in batch
    ]
    for member in members:
        assert verify_groth16(shipped_vkey, member["proof"], member["public_signals"])


def test_submit_from_several_threads(
    groth16_prover: Groth16Prover, shipped_vkey: dict[str, Any], prover_pool: Any
) -> None:
    """Four caller threads submitting at once all get verifying proofs of
    their own commitments."""
    batch = _random_commitments("submit-threads", 8)
    results: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()

    def caller(offset: int) -> None:
        futures = [(i, groth16_prover.submit(batch[i])) for i in range(offset, 8, 4)]
        for i, future in futures:
            member = future.result(timeout=120)
            with lock:
                results[i] = member

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(8))
    for i, member in results.items():
        assert member["public_signals"] == [str(billing_public_signal(batch[i]))]
        assert verify_groth16(shipped_vkey, member["proof"], member["public_signals"])


def test_submit_inside_a_pool_thread_does_not_deadlock(
    groth16_prover: Groth16Prover, prover_pool: Any
) -> None:
    """A pool job that submits and waits (both threads busy) still finishes:
    a nested submit runs inline."""

    def job(commitments: list[int]) -> str:
        inner = groth16_prover.submit(commitments)
        return str(inner.result(timeout=60)["public_signals"][0])

    batch = _random_commitments("nested", 2)
    outer = [get_prover_executor().submit(job, c) for c in batch]
    assert [f.result(timeout=120) for f in outer] == [
        str(billing_public_signal(c)) for c in batch
    ]


def test_bad_commitments_are_refused_before_queueing(
    groth16_prover: Groth16Prover, prover_pool: Any
) -> None:
    """submit raises at once; prove_many names the bad list and proves none."""
    with pytest.raises(ProverInputError):
        groth16_prover.submit(COMMITMENTS[:7])
    batch = _random_commitments("bad-batch", 3)
    batch[1] = batch[1][:7] + [SNARK_SCALAR_FIELD]
    with pytest.raises(ProverInputError) as info:
        groth16_prover.prove_many(batch)
    assert info.value.code == "groth16_prover_input_invalid"
    assert info.value.field == "batch[1].commitments[7]"


# --------------------------------------------------------------------------
# Artifacts that do not fit
# --------------------------------------------------------------------------

# Same inputs, fewer wires: groth16py panics (index out of bounds) proving.
_POSEIDON4 = """pragma circom 2.0.0;
include "poseidon.circom";
template ApiBillingV2() {
    signal input commitments[8];
    signal output binding;
    component hasher = Poseidon(4);
    for (var i = 0; i < 4; i++) { hasher.inputs[i] <== commitments[i]; }
    binding <== hasher.out;
}
component main = ApiBillingV2();
"""

_EXTRA_CONSTRAINT = """pragma circom 2.0.0;
include "poseidon.circom";
template ApiBillingV2() {
    signal input commitments[8];
    signal output binding;
    signal square;
    square <== commitments[0] * commitments[1];
    component hasher = Poseidon(8);
    for (var i = 0; i < 8; i++) { hasher.inputs[i] <== commitments[i]; }
    binding <== hasher.out;
}
component main = ApiBillingV2();
"""


@pytest.mark.parametrize(
    ("source", "symptom"),
    [
        pytest.param(_POSEIDON4, "PanicException", id="smaller-circuit-panics"),
        pytest.param(
            _EXTRA_CONSTRAINT, "does not verify", id="other-circuit-bad-proof"
        ),
    ],
)
def test_zkey_for_another_circuit_is_refused(
    tmp_path: Path, source: str, symptom: str
) -> None:
    """The ceremony zkey with a different circuit is refused with a clear
    error; groth16py's Rust panic (a BaseException) does not escape."""
    artifacts = _artifact_copy(tmp_path, source=source)
    with pytest.raises(ZkeyMismatchError) as info:
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")
    assert info.value.code == "groth16_zkey_mismatch"
    assert "self-test" in info.value.message
    assert symptom in info.value.message


def test_truncated_zkey_is_refused(tmp_path: Path) -> None:
    """A zkey cut short is refused before anything is imported."""
    artifacts = _artifact_copy(tmp_path)
    zkey = artifacts / ROLES["zkey"]
    zkey.write_bytes(zkey.read_bytes()[:2000])
    _sign_fresh_manifest(artifacts)
    with pytest.raises(ZkeyMismatchError) as info:
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")
    assert info.value.code == "groth16_zkey_mismatch"


def test_artifact_not_pinned_by_the_manifest_is_refused(tmp_path: Path) -> None:
    """A zkey that is not the one the manifest pins is not used."""
    artifacts = _artifact_copy(tmp_path)
    zkey = artifacts / ROLES["zkey"]
    zkey.write_bytes(zkey.read_bytes() + b"\0")
    with pytest.raises(ProverUnavailableError) as info:
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")
    assert info.value.code == "groth16_prover_unavailable"
    assert "pins" in info.value.message


def test_witness_calculator_not_pinned_by_the_manifest_is_refused(
    tmp_path: Path,
) -> None:
    """A wasm that is not the pinned one is not run."""
    artifacts = _artifact_copy(tmp_path)
    wasm = artifacts / ROLES["wasm"]
    wasm.write_bytes(wasm.read_bytes() + b"\0")
    with pytest.raises(ProverUnavailableError) as info:
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")
    assert info.value.field == ROLES["wasm"]
    assert "pins" in info.value.message


def test_witness_calculator_of_another_circuit_is_refused(tmp_path: Path) -> None:
    """A signed manifest pinning another circuit's wasm (5 wires) does not
    fit the r1cs: groth16_zkey_mismatch before any proof."""
    artifacts = _artifact_copy(tmp_path)
    other = Path(__file__).resolve().parents[2] / "vectors" / "witness"
    shutil.copy(other / "assertion.wasm", artifacts / ROLES["wasm"])
    _sign_fresh_manifest(artifacts)
    with pytest.raises(ZkeyMismatchError) as info:
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")
    assert "computes 5 wires, r1cs has 411" in info.value.message


def test_missing_manifest_makes_the_prover_unavailable(tmp_path: Path) -> None:
    """Without ARTIFACT_MANIFEST.json there is no vkey_hash to name."""
    artifacts = _artifact_copy(tmp_path)
    (artifacts / MANIFEST_FILENAME).unlink()
    with pytest.raises(ProverUnavailableError):
        Groth16Prover(artifacts, cache_dir=tmp_path / "cache")


def test_corrupt_cache_file_is_rebuilt(
    groth16_prover: Groth16Prover, groth16_cache_dir: Path, tmp_path: Path
) -> None:
    """An unreadable cached key is discarded and re-imported, not a crash."""
    cache = tmp_path / "cache"
    shutil.copytree(groth16_cache_dir, cache, symlinks=True)
    (cached,) = cache.glob("*.pk")
    cached.write_bytes(b"not a proving key")
    prover = Groth16Prover(ARTIFACT_DIR, cache_dir=cache)
    member = prover.prove(COMMITMENTS)
    assert verify_groth16(
        prover.verification_key, member["proof"], member["public_signals"]
    )
    assert cached.stat().st_size > 1000


# --------------------------------------------------------------------------
# Interop: snarkjs verifies our proofs (needs node; skipped otherwise)
# --------------------------------------------------------------------------


@pytest.mark.snarkjs
@pytest.mark.skipif(
    snarkjs_path() is None, reason="node/snarkjs not available (set SNARKJS)"
)
def test_snarkjs_verifies_our_proof(
    groth16_prover: Groth16Prover, tmp_path: Path
) -> None:
    """``snarkjs groth16 verify`` accepts a proof from our prover and rejects
    it for a neighbouring public signal."""
    snarkjs = snarkjs_path()
    assert snarkjs is not None
    member = groth16_prover.prove(COMMITMENTS)
    (tmp_path / "vkey.json").write_text(json.dumps(groth16_prover.verification_key))
    (tmp_path / "proof.json").write_text(json.dumps(member["proof"]))

    def run(public: list[str]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "public.json").write_text(json.dumps(public))
        return subprocess.run(
            [snarkjs, "groth16", "verify", "vkey.json", "public.json", "proof.json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    good = run(member["public_signals"])
    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK!" in good.stdout
    bad = run([str(int(member["public_signals"][0]) + 1)])
    assert bad.returncode != 0
    assert "Invalid proof" in bad.stdout + bad.stderr
