"""circuits.protocol.poseidon against circomlib / circomlibjs and light-poseidon."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from circuits.protocol import poseidon as poseidon_module
from circuits.protocol.errors import (
    CircuitsProtocolError,
    PoseidonError,
)
from circuits.protocol.poseidon import (
    MAX_INPUTS,
    N_ROUNDS_P,
    SNARK_SCALAR_FIELD,
    accelerator_active,
    poseidon,
    poseidon_portable,
)
from kernel.protocol.errors import ProtocolError

P = SNARK_SCALAR_FIELD
REPO = Path(__file__).resolve().parents[3]
VECTORS_FILE = REPO / "tests/circuits/vectors/poseidon_circomlibjs.json"
CONSTANTS_FILE = REPO / "circuits/protocol/data/poseidon_constants.json"
# Pinned in circuits/protocol/data/README.md; changes only with a regeneration.
CONSTANTS_SHA256 = "159b9674dbe889830f6f55b83dd192ffe775c7be39227fadcf7cfefb77b92ee2"
KNOWN_1_2 = 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A


def _load_vectors() -> list[dict[str, Any]]:
    document = json.loads(VECTORS_FILE.read_text("utf-8"))
    assert document["circomlibjs_version"] == "0.1.7"
    assert int(document["field_modulus"]) == P
    vectors: list[dict[str, Any]] = document["vectors"]
    return vectors


VECTORS = _load_vectors()


def _ints(vector: dict[str, Any]) -> list[int]:
    return [int(x) for x in vector["inputs"]]


def _params(n_filter: Any) -> list[Any]:
    return [
        pytest.param(v, id=str(v["name"]))
        for v in VECTORS
        if n_filter(len(v["inputs"]))
    ]


# --- known answer and circomlibjs vectors ----------------------------------


def test_known_vector_poseidon_1_2() -> None:
    """Poseidon([1, 2]) is circomlib's published 0x115cc0f5...4417189a."""
    assert poseidon_portable([1, 2]) == KNOWN_1_2
    assert poseidon([1, 2]) == KNOWN_1_2


def test_vector_file_covers_the_project_widths() -> None:
    """The circomlibjs file has >= 40 vectors for n=2 and for n=8 and all n."""
    counts = {n: sum(len(v["inputs"]) == n for v in VECTORS) for n in range(1, 17)}
    assert counts[2] >= 40
    assert counts[8] >= 40
    assert all(counts[n] >= 1 for n in range(1, MAX_INPUTS + 1))


@pytest.mark.parametrize("vector", _params(lambda n: n in (2, 8)))
def test_portable_matches_circomlibjs_n2_n8(vector: dict[str, Any]) -> None:
    """The pure-Python path equals circomlibjs buildPoseidon() for n=2, n=8."""
    assert poseidon_portable(_ints(vector)) == int(vector["output"])


@pytest.mark.parametrize("vector", _params(lambda n: n not in (2, 8)))
def test_portable_matches_circomlibjs_other_widths(vector: dict[str, Any]) -> None:
    """Every other shipped width (n = 1..16) equals circomlibjs too."""
    assert poseidon_portable(_ints(vector)) == int(vector["output"])


def test_poseidon_matches_circomlibjs_all_vectors() -> None:
    """poseidon() (accelerated or not) equals circomlibjs on every vector."""
    for vector in VECTORS:
        assert poseidon(_ints(vector)) == int(vector["output"]), vector["name"]


# --- light-poseidon, an independent Rust implementation --------------------


def test_light_poseidon_cross_check() -> None:
    """light-poseidon (32-byte big-endian inputs) agrees for n = 1..12."""
    lp = pytest.importorskip("light_poseidon_python")
    checked = 0
    for vector in VECTORS:
        values = _ints(vector)
        if len(values) > 12:
            continue
        out = lp.poseidon_hash_bytes([v.to_bytes(32, "big") for v in values])
        assert int(out, 16) == poseidon_portable(values), vector["name"]
        checked += 1
    assert checked >= 80


def test_accelerator_active_when_light_poseidon_imports() -> None:
    """With light-poseidon importable, the self-test passes and it is used."""
    pytest.importorskip("light_poseidon_python")
    assert accelerator_active() is True


def test_accelerator_disabled_when_self_test_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A native result that differs from the portable path disables it."""
    lp = pytest.importorskip("light_poseidon_python")
    monkeypatch.setattr(lp, "poseidon_hash_bytes", lambda _inputs: "0x01")
    assert poseidon_module._load_accelerator() is None


# --- constants data --------------------------------------------------------


def test_constants_file_is_the_pinned_extraction() -> None:
    """The shipped JSON hashes to the SHA-256 recorded in data/README.md."""
    data = CONSTANTS_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == CONSTANTS_SHA256
    readme = (CONSTANTS_FILE.parent / "README.md").read_text("utf-8")
    assert CONSTANTS_SHA256 in readme


def test_constants_shapes() -> None:
    """C[t-2] has t*(8+N_ROUNDS_P[t-2]) values and M[t-2] is t x t, t=2..17."""
    document = json.loads(CONSTANTS_FILE.read_text("utf-8"))
    assert document["package"] == "circomlibjs"
    assert document["version"] == "0.1.7"
    assert tuple(document["n_rounds_p"]) == N_ROUNDS_P
    for t in range(2, MAX_INPUTS + 2):
        assert len(document["C"][t - 2]) == t * (8 + N_ROUNDS_P[t - 2])
        assert [len(row) for row in document["M"][t - 2]] == [t] * t


# --- input validation ------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([True, 2], "inputs[0]"),
        ([1, False], "inputs[1]"),
        ([-1, 2], "inputs[0]"),
        ([1, P], "inputs[1]"),
        ([1, P + 5], "inputs[1]"),
        ([1, 2**256], "inputs[1]"),
        ([1.0, 2], "inputs[0]"),
        (["1", 2], "inputs[0]"),
        ([1, None], "inputs[1]"),
        ([], "inputs"),
        (list(range(MAX_INPUTS + 1)), "inputs"),
        ("12", "inputs"),
        (b"\x01\x02", "inputs"),
        ({1, 2}, "inputs"),
        (7, "inputs"),
    ],
)
def test_invalid_inputs_raise_poseidon_error(inputs: Any, field: str) -> None:
    """Non-field-element inputs raise PoseidonError poseidon_input_invalid."""
    for fn in (poseidon, poseidon_portable):
        with pytest.raises(PoseidonError) as info:
            fn(inputs)
        assert info.value.code == "poseidon_input_invalid"
        assert info.value.field == field
        assert isinstance(info.value, CircuitsProtocolError)
        assert isinstance(info.value, ProtocolError)


def test_error_codes() -> None:
    """The circuits error classes carry their documented stable codes."""
    assert CircuitsProtocolError.code == "circuits_protocol_error"
    assert PoseidonError.code == "poseidon_input_invalid"


def test_boundary_values_accepted() -> None:
    """0 and p - 1 are field elements and hash without error."""
    assert 0 <= poseidon_portable([0, P - 1]) < P
    assert 0 <= poseidon_portable([P - 1] * MAX_INPUTS) < P


# --- determinism and sensitivity -------------------------------------------


def test_deterministic_and_sequence_agnostic() -> None:
    """Same inputs give the same output; a tuple hashes like a list."""
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    first = poseidon_portable(values)
    assert poseidon_portable(list(values)) == first
    assert poseidon_portable(tuple(values)) == first
    assert poseidon(values) == first


def test_order_and_arity_matter() -> None:
    """Permuted inputs, or a trailing zero, change the hash."""
    assert poseidon_portable([1, 2]) != poseidon_portable([2, 1])
    assert poseidon_portable([1, 2]) != poseidon_portable([1, 2, 0])


# --- Django-free -----------------------------------------------------------


def test_protocol_modules_import_without_django() -> None:
    """Importing circuits.protocol modules loads no Django."""
    code = (
        "import sys\n"
        "import circuits.protocol.poseidon as p\n"
        "import circuits.protocol.commitments as c\n"
        "import circuits.protocol.errors\n"
        "assert p.poseidon_portable([1, 2]) == " + hex(KNOWN_1_2) + "\n"
        "assert c.billing_public_signal(list(range(8))) >= 0\n"
        "assert 'django' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
