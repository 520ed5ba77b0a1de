"""circom's witness calculator under wasmtime (``circuits.protocol.witness``)
and the R1CS constraint reader (``circuits.protocol.r1cs``).

Cross-checks: ``.wtns`` files made by snarkjs (committed vectors, and live
when ``SNARKJS=/path/to/snarkjs`` is set), the shipped r1cs's constraints,
the Python Poseidon and the FNV-1a values printed by ``witness_calculator.js``.
"""

from __future__ import annotations

import json
import logging
import random
import struct
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from circuits.protocol.errors import (
    ProverInputError,
    ProverUnavailableError,
    R1csFormatError,
)
from circuits.protocol.poseidon import SNARK_SCALAR_FIELD, poseidon
from circuits.protocol.r1cs import r1cs_unsatisfied, read_r1cs
from circuits.protocol.witness import (
    WitnessCalculator,
    fnv1a_64,
    read_wtns,
    wtns_bytes,
)
from tests.circuits.groth16_support import ARTIFACT_DIR, snarkjs_path

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "witness"
WASM = ARTIFACT_DIR / "apiBillingV2_js" / "apiBillingV2.wasm"
P = SNARK_SCALAR_FIELD


def _ints(data: dict[str, Any]) -> dict[str, Any]:
    """snarkjs input.json (decimal strings) -> ints."""

    def conv(value: Any) -> Any:
        return [conv(v) for v in value] if isinstance(value, list) else int(value)

    return {key: conv(value) for key, value in data.items()}


@pytest.fixture(scope="module")
def calculator() -> WitnessCalculator:
    """The shipped apiBillingV2 witness calculator."""
    return WitnessCalculator(WASM.read_bytes())


@pytest.fixture(scope="module")
def tiny() -> WitnessCalculator:
    """The 1-constraint test circuit with an assert and a log() line."""
    return WitnessCalculator((VECTORS / "assertion.wasm").read_bytes())


@pytest.fixture(scope="module")
def shipped_r1cs() -> Any:
    """The shipped r1cs with its constraints."""
    return read_r1cs((ARTIFACT_DIR / "apiBillingV2.r1cs").read_bytes())


def _random_inputs(seed: str, count: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(P) for _ in range(8)] for _ in range(count)]


# --------------------------------------------------------------------------
# The host protocol
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("commitments", 0xB358C8866F2848A9),
        ("a", 0xAF63DC4C8601EC8C),
        ("b", 0xAF63DF4C8601F1A5),
        ("main.x[0].y", 0xE90E95F82EDD62A9),
        ("", 0xCBF29CE484222325),
        ("é€", 0x0A897607B702F698),
    ],
)
def test_fnv1a_64_matches_witness_calculator_js(name: str, digest: int) -> None:
    """Same 64-bit FNV-1a as ``fnvHash`` in witness_calculator.js (values
    printed by the JS function under node; UTF-16 code units, not bytes)."""
    assert fnv1a_64(name) == digest


def test_calculator_reads_the_circuit(calculator: WitnessCalculator) -> None:
    """Field, element size, wire and input counts come from the wasm."""
    assert calculator.prime == P
    assert (calculator.n32, calculator.n8) == (8, 32)
    assert calculator.witness_size == 411
    assert calculator.input_size == 8
    assert calculator.circom_version == "2.2.3"


@pytest.mark.parametrize("name", ["apiBillingV2", "apiBillingV2_edge"])
def test_wtns_is_byte_for_byte_snarkjs(
    calculator: WitnessCalculator, name: str
) -> None:
    """Our ``.wtns`` equals the committed file ``snarkjs wtns calculate``
    wrote for the same input (edge values ``0, 1, p - 1, 2^253`` included)."""
    inputs = _ints(json.loads((VECTORS / f"{name}_input.json").read_text()))
    expected = (VECTORS / f"{name}.wtns").read_bytes()
    assert calculator.calculate_wtns(inputs) == expected
    witness = calculator.calculate(inputs)
    assert wtns_bytes(witness, P) == expected
    parsed = read_wtns(expected)
    assert parsed.prime == P
    assert parsed.witness == witness


def test_tiny_circuit_matches_snarkjs(tiny: WitnessCalculator) -> None:
    """A second, unrelated circuit (several input signals, an array)."""
    inputs = _ints(json.loads((VECTORS / "assertion_input.json").read_text()))
    assert tiny.calculate(inputs) == [1, 17, 3, 4, 5]
    assert tiny.calculate_wtns(inputs) == (VECTORS / "assertion.wtns").read_bytes()
    r1cs = read_r1cs((VECTORS / "assertion.r1cs").read_bytes())
    assert r1cs_unsatisfied(r1cs, tiny.calculate(inputs)) == []


def test_wtns_layout(calculator: WitnessCalculator) -> None:
    """iden3 wtns v2: magic, version 2, 2 sections; section 1 = n8 | prime |
    n_witness (40 bytes); section 2 = 411 x 32 bytes little-endian."""
    data = calculator.calculate_wtns({"commitments": list(range(8))})
    assert data[:4] == b"wtns"
    assert struct.unpack_from("<II", data, 4) == (2, 2)
    assert struct.unpack_from("<IQI", data, 12) == (1, 40, 32)
    assert int.from_bytes(data[28:60], "little") == P
    assert struct.unpack_from("<I", data, 60) == (411,)
    assert struct.unpack_from("<IQ", data, 64) == (2, 411 * 32)
    assert len(data) == 76 + 411 * 32
    assert int.from_bytes(data[76:108], "little") == 1


# --------------------------------------------------------------------------
# The witness is right: r1cs, Poseidon
# --------------------------------------------------------------------------


def test_witness_satisfies_every_constraint(
    calculator: WitnessCalculator, shipped_r1cs: Any
) -> None:
    """For random inputs, every one of the 402 constraints holds; changing
    any single internal wire breaks at least one (the check is not vacuous)."""
    assert len(shipped_r1cs.constraints) == 402
    for inputs in _random_inputs("r1cs", 5):
        witness = calculator.calculate({"commitments": inputs})
        assert r1cs_unsatisfied(shipped_r1cs, witness) == []
    rng = random.Random("tamper")
    for wire in rng.sample(range(1, 411), 12):
        bad = list(witness)
        bad[wire] = (bad[wire] + 1) % P
        assert r1cs_unsatisfied(shipped_r1cs, bad), wire


def test_public_output_is_poseidon(calculator: WitnessCalculator) -> None:
    """witness[1] (the public output) is Poseidon(8 inputs); inputs follow."""
    for inputs in _random_inputs("poseidon", 20) + [[0] * 8, [P - 1] * 8]:
        witness = calculator.calculate({"commitments": inputs})
        assert witness[0] == 1
        assert witness[1] == poseidon(inputs)
        assert witness[2:10] == inputs


def test_values_are_reduced_like_normalize(calculator: WitnessCalculator) -> None:
    """As the JS ``normalize``: ``p + 3`` is 3, ``-1`` is ``p - 1``."""
    base = calculator.calculate({"commitments": [3, P - 1] + [0] * 6})
    assert calculator.calculate({"commitments": [P + 3, -1] + [0] * 6}) == base


def test_threads_compute_the_same_witnesses(calculator: WitnessCalculator) -> None:
    """Eight threads (one wasm instance each) agree with the sequential run."""
    batch = _random_inputs("threads", 48)
    expected = [poseidon(inputs) for inputs in batch]
    with ThreadPoolExecutor(8) as pool:
        got = list(
            pool.map(lambda v: calculator.calculate({"commitments": v})[1], batch)
        )
    assert got == expected


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_assert_failure_is_a_prover_input_error(tiny: WitnessCalculator) -> None:
    """circom's ``Assert Failed`` (exceptionHandler code 4) with its line,
    never a raw wasmtime trap; the thread's next calculation is fine."""
    with pytest.raises(ProverInputError) as info:
        tiny.calculate({"a": 0, "b": [4, 5]})
    assert info.value.code == "groth16_prover_input_invalid"
    assert "Assert Failed" in info.value.message
    assert "line: 8" in info.value.message
    assert tiny.calculate({"a": 3, "b": [4, 5]}) == [1, 17, 3, 4, 5]


def test_assert_failures_on_threads(tiny: WitnessCalculator) -> None:
    """Failing and passing calculations interleaved on threads each get
    their own outcome (the error text comes from the thread's instance)."""

    def run(a: int) -> str:
        try:
            return str(tiny.calculate({"a": a, "b": [1, 0]})[1])
        except ProverInputError as exc:
            return exc.message

    values = [0, 5] * 20
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, values))
    for a, result in zip(values, results, strict=True):
        assert ("Assert Failed" in result) if a == 0 else (result == str(a))


@pytest.mark.parametrize(
    ("inputs", "needle"),
    [
        ({"a": 3, "b": [4]}, "Not enough values for input signal b"),
        ({"a": 3, "b": [4, 5, 6]}, "Too many values for input signal b"),
        ({"a": 3}, "Not all inputs have been set. Only 1 out of 3"),
        ({"a": 3, "b": [4, 5], "c": 1}, "Signal c not found"),
        ({"a": "3", "b": [4, 5]}, "input signal a holds a str"),
        ({"a": True, "b": [4, 5]}, "input signal a holds a bool"),
    ],
)
def test_bad_inputs_are_prover_input_errors(
    tiny: WitnessCalculator, inputs: dict[str, Any], needle: str
) -> None:
    """The JS calculator's input checks, as ProverInputError."""
    with pytest.raises(ProverInputError) as info:
        tiny.calculate(inputs)
    assert needle in info.value.message


def test_log_lines_go_to_the_logger(
    tiny: WitnessCalculator, caplog: pytest.LogCaptureFixture
) -> None:
    """circom ``log()`` output (writeBufferMessage) is logged at DEBUG."""
    with caplog.at_level(logging.DEBUG, logger="meterproof.circuits.witness"):
        tiny.calculate({"a": 7, "b": [1, 1]})
    assert "circom log: guarded 7" in caplog.text


@pytest.mark.parametrize(
    "wasm",
    [
        b"not wasm at all",
        b"\0asm\x01\0\0\0",  # an empty module
        b'(module (import "env" "f" (func)))',
    ],
    ids=["garbage", "empty-module", "foreign-import"],
)
def test_not_a_witness_calculator(wasm: bytes) -> None:
    """A module that is not a circom witness calculator is refused clearly."""
    with pytest.raises(ProverUnavailableError) as info:
        WitnessCalculator(wasm)
    assert info.value.field == "wasm"


# A stand-in calculator whose setInputSignal hits `unreachable`: a wasm trap
# that does not come through exceptionHandler.
_TRAPPING_CALCULATOR = """
(module
  (memory (export "memory") 1)
  (func (export "getVersion") (result i32) (i32.const 2))
  (func (export "getFieldNumLen32") (result i32) (i32.const 8))
  (func (export "getRawPrime"))
  (func (export "readSharedRWMemory") (param i32) (result i32)
    (select (i32.const 7) (i32.const 0) (i32.eqz (local.get 0))))
  (func (export "writeSharedRWMemory") (param i32 i32))
  (func (export "init") (param i32))
  (func (export "getInputSignalSize") (param i32 i32) (result i32) (i32.const 1))
  (func (export "setInputSignal") (param i32 i32 i32) unreachable)
  (func (export "getInputSize") (result i32) (i32.const 1))
  (func (export "getWitnessSize") (result i32) (i32.const 2))
  (func (export "getWitness") (param i32))
  (func (export "getMessageChar") (result i32) (i32.const 0)))
"""


def test_a_raw_wasm_trap_becomes_a_prover_input_error() -> None:
    """A trap outside circom's exceptionHandler (here ``unreachable``) is
    reported as ProverInputError, never a wasmtime exception."""
    calculator = WitnessCalculator(_TRAPPING_CALCULATOR.encode())
    assert (calculator.prime, calculator.witness_size) == (7, 2)
    for _ in range(2):  # and again on a fresh instance
        with pytest.raises(ProverInputError) as info:
            calculator.calculate({"x": 1})
        assert "witness calculation trapped" in info.value.message
        assert "unreachable" in info.value.message


def test_wtns_codec_errors() -> None:
    """wtns_bytes refuses non-field values; read_wtns refuses bad files."""
    with pytest.raises(ValueError):
        wtns_bytes([1, P], P)
    with pytest.raises(ValueError):
        wtns_bytes([1, -1], P)
    good = wtns_bytes([1, 2, 3], P)
    assert read_wtns(good).witness == [1, 2, 3]
    for bad in (b"wtnx" + good[4:], good[:4] + b"\x01" + good[5:], good[:-1]):
        with pytest.raises(ValueError):
            read_wtns(bad)


def test_r1cs_reader_refuses_truncated_constraints() -> None:
    """A constraint section cut short is an R1csFormatError, not IndexError."""
    data = (ARTIFACT_DIR / "apiBillingV2.r1cs").read_bytes()
    with pytest.raises(R1csFormatError):
        read_r1cs(data[: len(data) // 2])


def test_r1cs_unsatisfied_checks_the_shape(shipped_r1cs: Any) -> None:
    """Wrong length or a constant wire other than 1 is a ValueError."""
    with pytest.raises(ValueError):
        r1cs_unsatisfied(shipped_r1cs, [1] * 410)
    with pytest.raises(ValueError):
        r1cs_unsatisfied(shipped_r1cs, [2] + [0] * 410)


# --------------------------------------------------------------------------
# Live snarkjs (needs node; skipped otherwise)
# --------------------------------------------------------------------------


@pytest.mark.snarkjs
@pytest.mark.skipif(
    snarkjs_path() is None, reason="node/snarkjs not available (set SNARKJS)"
)
def test_snarkjs_wtns_calculate_agrees(
    calculator: WitnessCalculator, tmp_path: Path
) -> None:
    """For random inputs, ``snarkjs wtns calculate`` on the shipped wasm
    writes exactly our bytes, from several threads at once on our side."""
    snarkjs = snarkjs_path()
    assert snarkjs is not None
    batch = _random_inputs("snarkjs-live", 4)
    ours: dict[int, bytes] = {}
    lock = threading.Lock()

    def mine(index: int) -> None:
        data = calculator.calculate_wtns({"commitments": batch[index]})
        with lock:
            ours[index] = data

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(mine, range(len(batch))))
    for index, inputs in enumerate(batch):
        (tmp_path / "input.json").write_text(
            json.dumps({"commitments": [str(v) for v in inputs]})
        )
        subprocess.run(
            [snarkjs, "wtns", "calculate", str(WASM), "input.json", "out.wtns"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert (tmp_path / "out.wtns").read_bytes() == ours[index]
