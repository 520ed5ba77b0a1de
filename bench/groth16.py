#!/usr/bin/env python
"""Groth16 side by side: snarkjs vs groth16py vs py_ecc, same circuit, one run.

Usage (from the repository root, with the project venv)::

    .venv/bin/python bench/groth16.py [--n 30] [--ref-n 3] [--scratch DIR]
                                      [--snarkjs-dir DIR] [--json FILE]

Measures, on the shipped ``circuits/apiBillingV2`` artifacts (circomlib
Poseidon(8), 402 constraints, ceremony zkey):

- **snarkjs** (needs node and ``npm install snarkjs`` in ``--snarkjs-dir``,
  default ``$SNARKJS_DIR`` or ``/work/scratch/groth16``): warm
  ``groth16.fullProve`` (wasm witness + prove) and ``groth16.verify``, timed
  inside node with ``performance.now()`` after warm-up runs, so neither node
  start-up nor curve set-up is counted. Skipped with a note without node.
- **groth16py / circuits.prover**: ``groth16py.prove`` from inputs (wasmi
  witness from groth16py's compiled wasm + arkworks prove; the old path,
  ``prove_raw(..., witness="wasmi")``), the shipped circom wasm under
  wasmtime alone (``WitnessCalculator``: list of ints, and ``.wtns``
  bytes), ``prove_wtns`` from a ready ``.wtns`` (ours, in ``/dev/shm``),
  ``prove_raw`` (wasmtime witness + ``.wtns`` temp file + ``prove_wtns``),
  our full ``prove`` (that + the self-check verify: the ``billing_proof``
  member), and proofs/s with 1 and 2 threads sharing one prover (plus the
  wasmi path on 2 threads, for contrast: it holds the GIL); then the raw
  prepared ``Verifier.verify``, ``verify_groth16(backend="fast")`` (strict
  JSON parsing included) and ``verify_billing_proof`` (a bundle's whole
  in-circuit binding check: Poseidon recompute, vkey hash, parse, pairing).
- **py_ecc**: ``verify_groth16(backend="reference")``.

Prints a Markdown table of medians (ms) and the machine; ``--json`` also
dumps the raw samples. Timing is wall clock (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARTIFACTS = ROOT / "circuits" / "apiBillingV2"

# Runs inside --snarkjs-dir (where node_modules/snarkjs lives).
NODE_SCRIPT = r"""
import * as snarkjs from "snarkjs";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [wasm, zkey, vkeyPath, inputsPath, n, wtnsOut] = process.argv.slice(2);
const vkey = JSON.parse(readFileSync(vkeyPath, "utf8"));
const inputs = JSON.parse(readFileSync(inputsPath, "utf8"));
const N = Number(n);
const prove = [], verify = [];
let last;
for (let i = 0; i < 3; i++) {                       // warm-up
  last = await snarkjs.groth16.fullProve(inputs[i % inputs.length], wasm, zkey);
  await snarkjs.groth16.verify(vkey, last.publicSignals, last.proof);
}
for (let i = 0; i < N; i++) {
  const input = inputs[i % inputs.length];
  let t = performance.now();
  last = await snarkjs.groth16.fullProve(input, wasm, zkey);
  prove.push(performance.now() - t);
  t = performance.now();
  const ok = await snarkjs.groth16.verify(vkey, last.publicSignals, last.proof);
  verify.push(performance.now() - t);
  if (!ok) throw new Error("snarkjs rejected its own proof");
}
await snarkjs.wtns.calculate(inputs[0], wasm, wtnsOut);
console.log(JSON.stringify({ prove, verify, version: process.version }));
process.exit(0);
"""


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def _time(fn: Callable[[], Any], n: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _rate(
    fn: Callable[[list[int]], Any], inputs: list[list[int]], threads: int
) -> float:
    """Return calls/s of ``fn`` over ``inputs`` on ``threads`` threads."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, inputs[: 2 * threads]))  # warm-up: one instance each
        start = time.perf_counter()
        list(pool.map(fn, inputs))
        return len(inputs) / (time.perf_counter() - start)


def _inputs(n: int) -> list[list[int]]:
    rng = random.Random(42)
    return [[rng.getrandbits(128) for _ in range(8)] for _ in range(n)]


def run_snarkjs(
    snarkjs_dir: Path, inputs: list[list[int]], n: int, work: Path
) -> dict[str, Any] | None:
    """Return node's samples (ms) and write ``work/bench.wtns``, or None."""
    node = shutil.which("node")
    if node is None or not (snarkjs_dir / "node_modules" / "snarkjs").is_dir():
        return None
    script = snarkjs_dir / "bench_groth16.mjs"
    script.write_text(NODE_SCRIPT)
    inputs_path = work / "inputs.json"
    inputs_path.write_text(
        json.dumps([{"commitments": [str(v) for v in row]} for row in inputs])
    )
    proc = subprocess.run(
        [
            node,
            str(script),
            str(ARTIFACTS / "apiBillingV2_js" / "apiBillingV2.wasm"),
            str(ARTIFACTS / "apiBillingV2_final.zkey"),
            str(ARTIFACTS / "verification_key.json"),
            str(inputs_path),
            str(n),
            str(work / "bench.wtns"),
        ],
        cwd=snarkjs_dir,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="samples per fast row")
    parser.add_argument("--ref-n", type=int, default=3, help="py_ecc samples")
    parser.add_argument(
        "--rate-n", type=int, default=60, help="proofs per proofs/s measurement"
    )
    parser.add_argument(
        "--snarkjs-dir",
        type=Path,
        default=Path(os.environ.get("SNARKJS_DIR", "/work/scratch/groth16")),
    )
    parser.add_argument("--json", type=Path, help="also dump raw samples here")
    args = parser.parse_args(argv)

    import groth16py

    from circuits.protocol.binding import verify_billing_proof
    from circuits.protocol.commitments import BINDING_VERSION
    from circuits.protocol.groth16 import parse_proof, verify_groth16
    from circuits.protocol.manifest import vkey_hash
    from circuits.prover import Groth16Prover

    inputs = _inputs(max(args.n, 4))
    work = Path(tempfile.mkdtemp(prefix="mp-bench-groth16-"))
    try:
        rows: list[tuple[str, str, float, int]] = []
        raw: dict[str, list[float]] = {}
        notes: list[str] = []

        node = run_snarkjs(args.snarkjs_dir, inputs, args.n, work)
        if node is not None:
            rows.append(
                (
                    "snarkjs",
                    "fullProve (warm, wasm witness + prove)",
                    statistics.median(node["prove"]),
                    len(node["prove"]),
                )
            )
            rows.append(
                (
                    "snarkjs",
                    "verify",
                    statistics.median(node["verify"]),
                    len(node["verify"]),
                )
            )
            raw["snarkjs_prove_ms"] = node["prove"]
            raw["snarkjs_verify_ms"] = node["verify"]

        start = time.perf_counter()
        prover = Groth16Prover(ARTIFACTS, cache_dir=work / "cache")
        cold_import = time.perf_counter() - start
        start = time.perf_counter()
        prover = Groth16Prover(ARTIFACTS, cache_dir=work / "cache")
        cached_load = time.perf_counter() - start

        it = iter(range(10**9))

        def next_input() -> list[int]:
            return inputs[next(it) % len(inputs)]

        def row(impl: str, what: str, samples: list[float], key: str) -> None:
            raw[key] = samples
            rows.append((impl, what, _median_ms(samples), len(samples)))

        row(
            "groth16py",
            "prove from inputs (wasmi witness + prove; old path)",
            _time(lambda: prover.prove_raw(next_input(), witness="wasmi"), args.n),
            "groth16py_prove_wasmi_s",
        )
        calculator = prover._witness  # the shipped wasm under wasmtime
        row(
            "wasmtime",
            "circom wasm witness alone (411 ints)",
            _time(lambda: calculator.calculate({"commitments": next_input()}), args.n),
            "wasmtime_witness_s",
        )
        row(
            "wasmtime",
            "circom wasm witness alone (.wtns bytes)",
            _time(
                lambda: calculator.calculate_wtns({"commitments": next_input()}),
                args.n,
            ),
            "wasmtime_wtns_s",
        )
        snarkjs_wtns = work / "bench.wtns"
        if snarkjs_wtns.exists():
            same = snarkjs_wtns.read_bytes() == calculator.calculate_wtns(
                {"commitments": inputs[0]}
            )
            notes.append(
                "snarkjs `wtns calculate` and our wasmtime `.wtns` for the same "
                f"input are {'byte-identical' if same else 'DIFFERENT'}."
            )
        wtns = Path("/dev/shm" if os.path.isdir("/dev/shm") else work) / (
            f"mp-bench-{os.getpid()}.wtns"
        )
        wtns.write_bytes(calculator.calculate_wtns({"commitments": inputs[0]}))
        try:
            pk = prover._pk  # the loaded key; prove_wtns needs it
            row(
                "groth16py",
                "prove_wtns (ready witness)",
                _time(lambda: groth16py.prove_wtns(pk, str(wtns)), args.n),
                "groth16py_prove_wtns_s",
            )
        finally:
            wtns.unlink(missing_ok=True)
        row(
            "circuits.prover",
            "prove_raw (wasmtime witness + .wtns + prove_wtns)",
            _time(lambda: prover.prove_raw(next_input()), args.n),
            "prover_prove_raw_s",
        )
        row(
            "circuits.prover",
            "prove: billing_proof member (+ self-check verify)",
            _time(lambda: prover.prove(next_input()), args.n),
            "prover_prove_s",
        )
        rate_inputs = _inputs(args.rate_n)
        rates: dict[str, float] = {}
        for threads in (1, 2):
            rates[f"prove, {threads} thread{'s' if threads > 1 else ''}"] = _rate(
                prover.prove, rate_inputs, threads
            )
        rates["prove (wasmi witness), 2 threads"] = _rate(
            lambda c: prover.prove(c, witness="wasmi"), rate_inputs, 2
        )

        commitments = inputs[0]
        member = prover.prove(commitments)
        vkey = prover.verification_key
        proof_json = member["proof"]
        public = member["public_signals"]
        blob = parse_proof(proof_json).to_eth_bytes()
        verifier = groth16py.Verifier(
            groth16py.VerifyingKey.from_snarkjs(json.dumps(vkey))
        )
        signal_int = [int(public[0])]
        samples = _time(lambda: verifier.verify(blob, signal_int), args.n * 3)
        raw["groth16py_verifier_raw_s"] = samples
        rows.append(
            (
                "groth16py",
                "Verifier.verify (prepared key, raw bytes)",
                _median_ms(samples),
                args.n * 3,
            )
        )

        samples = _time(lambda: verify_groth16(vkey, proof_json, public), args.n * 3)
        raw["verify_groth16_fast_s"] = samples
        rows.append(
            (
                "groth16py",
                'verify_groth16(backend="fast") (JSON parse + verify)',
                _median_ms(samples),
                args.n * 3,
            )
        )

        bundle_commitments = {
            "binding_version": BINDING_VERSION,
            "elements": [str(v) for v in commitments],
            "public_signals": public,
        }
        keys = {vkey_hash(vkey): vkey}

        def bundle_check() -> None:
            report = verify_billing_proof(
                member, commitments=bundle_commitments, verification_keys=keys
            )
            assert report["ok"], report

        samples = _time(bundle_check, args.n * 3)
        raw["verify_billing_proof_fast_s"] = samples
        rows.append(
            (
                "groth16py",
                "verify_billing_proof (bundle binding, fast)",
                _median_ms(samples),
                args.n * 3,
            )
        )

        samples = _time(
            lambda: verify_groth16(vkey, proof_json, public, "reference"),
            args.ref_n,
            warmup=1,
        )
        raw["verify_groth16_reference_s"] = samples
        rows.append(
            (
                "py_ecc",
                'verify_groth16(backend="reference")',
                _median_ms(samples),
                args.ref_n,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    zkey_sha = hashlib.sha256(
        (ARTIFACTS / "apiBillingV2_final.zkey").read_bytes()
    ).hexdigest()
    print("## Groth16 (apiBillingV2, Poseidon(8), 402 constraints)\n")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, groth16py {groth16py.__version__}"
        + (
            f", node {node['version']}"
            if node
            else ", node/snarkjs not found (skipped)"
        )
        + f"; zkey sha256 {zkey_sha[:12]}…\n"
    )
    print("| implementation | operation | median (ms) | n |")
    print("|---|---|---:|---:|")
    for impl, what, ms, n in rows:
        print(f"| {impl} | {what} | {ms:.2f} | {n} |")
    print("\n| throughput (one prover, `ThreadPoolExecutor`) | proofs/s |")
    print("|---|---:|")
    for what, rate in rates.items():
        print(f"| {what} | {rate:.1f} |")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load is not None:
        print(
            f"\nLoad average after the run: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}."
        )
    print(
        f"\nProving key: first import (zkey + circom compile) {cold_import:.2f} s, "
        f"cached load {cached_load * 1000:.0f} ms (incl. header checks and the "
        f"two self-test proofs; the wasmtime compile of the circom wasm, about "
        f"0.6 s, happens once per process and is in the first figure)."
    )
    by = {what: ms for _, what, ms, _ in rows}
    ours = by["prove: billing_proof member (+ self-check verify)"]
    print(
        f"\nOur full prove (witness + proof + self-check): {ours:.1f} ms "
        f"(target <= 60 ms); 2 threads: {rates['prove, 2 threads']:.1f} proofs/s "
        f"(target >= 25)."
    )
    if node is not None:
        snark = by["fullProve (warm, wasm witness + prove)"]
        old = by["prove from inputs (wasmi witness + prove; old path)"]
        print(
            f"Proving speed-up vs snarkjs warm fullProve: {snark / ours:.1f}x "
            f"(target >= 4x; the old wasmi path: {snark / old:.1f}x)."
        )
    print(
        f"Bundle binding verify: {by['verify_billing_proof (bundle binding, fast)']:.2f} ms "
        f"(target <= 3 ms)."
    )
    for note in notes:
        print(note)
    if args.json:
        args.json.write_text(
            json.dumps({"rows": rows, "rates": rates, "raw": raw}, indent=1)
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MP_READ_DOT_ENV", "0")
    raise SystemExit(main())
