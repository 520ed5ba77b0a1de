"""Groth16 parsing and the two verifiers (groth16py "fast", py_ecc "reference").

Cross-checks: our prover's proofs and a committed snarkjs proof verify in
both backends; the backends agree (same bool, or the same error class and
code) on more than 50 tampered variants; the circuit's public signal is
``circuits.protocol.poseidon.poseidon`` of its inputs. The reference backend
takes ~0.6 s per pairing check, so only a handful of cases reach it.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from py_ecc import bn128

from circuits.protocol.errors import (
    MalformedProofError,
    MalformedPublicSignalsError,
    MalformedVerificationKeyError,
    PointNotInSubgroupError,
    PointNotOnCurveError,
    ProofError,
    SignalOutOfFieldError,
    UnknownBackendError,
)
from circuits.protocol.groth16 import (
    BN254_BASE_FIELD,
    SNARK_SCALAR_FIELD,
    parse_proof,
    parse_public_signals,
    parse_verification_key,
    proof_from_eth_bytes,
    verify_groth16,
)
from circuits.protocol.manifest import vkey_hash
from circuits.protocol.poseidon import poseidon
from circuits.prover import Groth16Prover

Q = BN254_BASE_FIELD
R = SNARK_SCALAR_FIELD


@pytest.fixture(scope="module")
def valid(groth16_prover: Groth16Prover) -> dict[str, Any]:
    """A fresh proof from our prover on random 128-bit commitments."""
    rng = random.Random(20261121)
    commitments = [rng.getrandbits(128) for _ in range(8)]
    member = groth16_prover.prove(commitments)
    return {
        "commitments": commitments,
        "vkey": groth16_prover.verification_key,
        "proof": member["proof"],
        "public": member["public_signals"],
    }


# --------------------------------------------------------------------------
# Round trip, interop, Poseidon
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_prover_proof_verifies_in_both_backends(
    valid: dict[str, Any], backend: str
) -> None:
    """A proof from our prover verifies in each backend."""
    assert verify_groth16(valid["vkey"], valid["proof"], valid["public"], backend)


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_snarkjs_proof_verifies_in_both_backends(
    snarkjs_vector: dict[str, Any], backend: str
) -> None:
    """The committed ``snarkjs groth16 fullprove`` proof verifies in both."""
    v = snarkjs_vector
    assert verify_groth16(v["verification_key"], v["proof"], v["public"], backend)


def test_snarkjs_vector_uses_the_shipped_verification_key(
    snarkjs_vector: dict[str, Any], shipped_vkey: dict[str, Any]
) -> None:
    """The vector was made with today's ceremony key (else regenerate it)."""
    assert vkey_hash(snarkjs_vector["verification_key"]) == vkey_hash(shipped_vkey)


def test_snarkjs_public_signal_is_python_poseidon(
    snarkjs_vector: dict[str, Any],
) -> None:
    """The circuit (run by snarkjs from the wasm) outputs circomlib Poseidon(8)."""
    inputs = [int(x) for x in snarkjs_vector["input"]["commitments"]]
    assert snarkjs_vector["public"] == [str(poseidon(inputs))]


def test_prover_public_signal_is_python_poseidon(
    groth16_prover: Groth16Prover, shipped_vkey: dict[str, Any]
) -> None:
    """On random field inputs the circuit's output is ``poseidon(inputs)``: the
    proof verifies for that signal and for no neighbour."""
    rng = random.Random(7)
    inputs = [rng.randrange(R) for _ in range(8)]
    proof, signal = groth16_prover.prove_raw(inputs)
    assert signal == poseidon(inputs)
    proof_json = proof.to_snarkjs()
    assert verify_groth16(shipped_vkey, proof_json, [str(signal)])
    assert not verify_groth16(shipped_vkey, proof_json, [str((signal + 1) % R)])


def test_proof_codecs_round_trip(valid: dict[str, Any]) -> None:
    """snarkjs JSON -> parsed -> 256-byte blob -> parsed -> JSON is identity."""
    parsed = parse_proof(valid["proof"])
    assert proof_from_eth_bytes(parsed.to_eth_bytes()) == parsed
    assert parsed.to_snarkjs() == valid["proof"]
    assert parse_proof(json.dumps(valid["proof"])) == parsed


def test_verification_key_round_trips_without_alphabeta(
    shipped_vkey: dict[str, Any],
) -> None:
    """The parsed key re-serialises to the shipped one minus the derived
    ``vk_alphabeta_12``."""
    expected = {k: v for k, v in shipped_vkey.items() if k != "vk_alphabeta_12"}
    assert parse_verification_key(shipped_vkey).to_snarkjs() == expected


# --------------------------------------------------------------------------
# Strict parsing (no backend involved)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "error"),
    [
        ("not json", MalformedPublicSignalsError),
        ({"0": "1"}, MalformedPublicSignalsError),
        ([1], MalformedPublicSignalsError),
        (["0x10"], MalformedPublicSignalsError),
        (["010"], MalformedPublicSignalsError),
        ([" 1"], MalformedPublicSignalsError),
        (["1e3"], MalformedPublicSignalsError),
        (["-1"], SignalOutOfFieldError),
        ([str(R)], SignalOutOfFieldError),
        ([str(2**256)], SignalOutOfFieldError),
        (["1", "2"], MalformedPublicSignalsError),
        ([], MalformedPublicSignalsError),
    ],
)
def test_public_signals_are_parsed_strictly(
    signals: Any, error: type[ProofError]
) -> None:
    """Only one canonical decimal string in [0, r) is a valid public.json here."""
    with pytest.raises(error) as info:
        parse_public_signals(signals, 1)
    assert info.value.code == error.code


def test_largest_field_element_is_accepted() -> None:
    """r - 1 is a field element."""
    assert parse_public_signals([str(R - 1)], 1) == (R - 1,)


def test_unknown_backend_is_an_error(valid: dict[str, Any]) -> None:
    """Only "fast" and "reference" exist."""
    with pytest.raises(UnknownBackendError) as info:
        verify_groth16(valid["vkey"], valid["proof"], valid["public"], "snarkjs")
    assert info.value.code == "groth16_unknown_backend"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k.pop("IC"),
        lambda k: k.update(nPublic=2),
        lambda k: k.update(nPublic="1"),
        lambda k: k.update(nPublic=True),
        lambda k: k.update(protocol="plonk"),
        lambda k: k.update(curve="bls12381"),
        lambda k: k.update(extra=1),
        lambda k: k["vk_beta_2"].pop(),
    ],
)
def test_verification_key_layout_is_strict(
    shipped_vkey: dict[str, Any], mutate: Callable[[dict[str, Any]], Any]
) -> None:
    """Missing, extra or inconsistent members are rejected."""
    vkey = copy.deepcopy(shipped_vkey)
    mutate(vkey)
    with pytest.raises(MalformedVerificationKeyError) as info:
        parse_verification_key(vkey)
    assert info.value.code == "groth16_malformed_vkey"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("protocol"),
        lambda p: p.update(curve="bls12381"),
        lambda p: p.update(pi_z=["1"]),
        lambda p: p.update(pi_a=p["pi_a"][:2]),
        lambda p: p["pi_b"].pop(),
        lambda p: p["pi_b"][0].append("0"),
    ],
)
def test_proof_layout_is_strict(
    valid: dict[str, Any], mutate: Callable[[dict[str, Any]], Any]
) -> None:
    """Missing, extra or reshaped members are rejected."""
    proof = copy.deepcopy(valid["proof"])
    mutate(proof)
    with pytest.raises(MalformedProofError) as info:
        parse_proof(proof)
    assert info.value.code == "groth16_malformed_proof"


# --------------------------------------------------------------------------
# Differential: fast vs reference on tampered inputs
# --------------------------------------------------------------------------


def _fq2_sqrt(a: bn128.FQ2) -> bn128.FQ2 | None:
    """Square root in F_q2 for q = 3 mod 4 (Adj and Rodriguez-Henriquez,
    Algorithm 9), or None."""
    a1 = a ** ((Q - 3) // 4)
    alpha = a1 * a1 * a
    minus_one = bn128.FQ2([Q - 1, 0])
    if (alpha**Q) * alpha == minus_one:
        return None
    x0 = a1 * a
    if alpha == minus_one:
        return bn128.FQ2([0, 1]) * x0
    return ((bn128.FQ2([1, 0]) + alpha) ** ((Q - 1) // 2)) * x0


def _g2_outside_subgroup() -> list[list[str]]:
    """A point on the G2 twist that is not in the order-r subgroup."""
    rng = random.Random(1)
    while True:
        x = bn128.FQ2([rng.randrange(Q), rng.randrange(Q)])
        y = _fq2_sqrt(x**3 + bn128.b2)
        if y is not None and y * y == x**3 + bn128.b2:
            break
    assert bn128.is_on_curve((x, y), bn128.b2)
    assert bn128.multiply((x, y), R - 1) != bn128.neg((x, y))
    return [
        [str(x.coeffs[0]), str(x.coeffs[1])],
        [str(y.coeffs[0]), str(y.coeffs[1])],
        ["1", "0"],
    ]


def _g2_generator() -> list[list[str]]:
    x, y = bn128.G2
    return [
        [str(x.coeffs[0]), str(x.coeffs[1])],
        [str(y.coeffs[0]), str(y.coeffs[1])],
        ["1", "0"],
    ]


def _bump(value: str, delta: int) -> str:
    return str((int(value) + delta) % Q)


Case = Callable[[dict[str, Any], dict[str, Any], list[str]], None]


def _set(path: tuple[Any, ...], fn: Callable[[Any], Any], where: str = "proof") -> Case:
    def apply(vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> None:
        target: Any = {"proof": proof, "vkey": vkey}[where]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = fn(target[path[-1]])

    return apply


def _signals(fn: Callable[[list[str]], list[Any]]) -> Case:
    def apply(vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> None:
        public[:] = fn(list(public))

    return apply


def _swap_words(name: str, row: int, where: str = "proof") -> Case:
    def apply(vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> None:
        target = {"proof": proof, "vkey": vkey}[where][name]
        target[row] = target[row][::-1]

    return apply


def _neg_y(name: str, where: str = "proof") -> Case:
    return _set((name, 1), lambda y: str((Q - int(y)) % Q), where)


def _both(first: Case, second: Case) -> Case:
    def apply(vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> None:
        first(vkey, proof, public)
        second(vkey, proof, public)

    return apply


def _swap_a_c(vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> None:
    proof["pi_a"], proof["pi_c"] = proof["pi_c"], proof["pi_a"]


COORDINATES = {
    "pi_a": [(0,), (1,)],
    "pi_b": [(0, 0), (0, 1), (1, 0), (1, 1)],
    "pi_c": [(0,), (1,)],
}

TAMPERED: dict[str, Case] = {}
for _name, _coords in COORDINATES.items():
    for _coord in _coords:
        for _delta in (1, -1):
            _label = "-".join(map(str, _coord))
            TAMPERED[f"{_name}[{_label}]{_delta:+d}"] = _set(
                (_name, *_coord), lambda v, d=_delta: _bump(v, d)
            )
TAMPERED.update(
    {
        # swapped G2 words (c0/c1 order, as an Ethereum encoder would emit)
        "pi_b.x words swapped": _swap_words("pi_b", 0),
        "pi_b.y words swapped": _swap_words("pi_b", 1),
        "pi_b both swapped": _both(_swap_words("pi_b", 0), _swap_words("pi_b", 1)),
        "vk_beta_2.x words swapped": _swap_words("vk_beta_2", 0, "vkey"),
        "vk_gamma_2.y words swapped": _swap_words("vk_gamma_2", 1, "vkey"),
        "vk_delta_2.x words swapped": _swap_words("vk_delta_2", 0, "vkey"),
        # public signals
        "signal+1": _signals(lambda s: [str((int(s[0]) + 1) % R)]),
        "signal-1": _signals(lambda s: [str((int(s[0]) - 1) % R)]),
        "signal+r": _signals(lambda s: [str(int(s[0]) + R)]),
        "signal=r": _signals(lambda s: [str(R)]),
        "signal negative": _signals(lambda s: ["-" + s[0]]),
        "signal hex": _signals(lambda s: [hex(int(s[0]))]),
        "signal as int": _signals(lambda s: [int(s[0])]),
        "signal leading zero": _signals(lambda s: ["0" + s[0]]),
        "two signals": _signals(lambda s: s + ["1"]),
        "no signals": _signals(lambda s: []),
        # points off the curve, identity points
        "pi_a off curve (1, 1)": _set(("pi_a",), lambda v: ["1", "1", "1"]),
        "pi_c off curve (0, 1)": _set(("pi_c",), lambda v: ["0", "1", "1"]),
        "pi_b off curve": _set(
            ("pi_b",), lambda v: [["1", "0"], ["1", "0"], ["1", "0"]]
        ),
        "pi_a identity (0, 0)": _set(("pi_a",), lambda v: ["0", "0", "1"]),
        "pi_a identity snarkjs": _set(("pi_a",), lambda v: ["0", "1", "0"]),
        "pi_c identity snarkjs": _set(("pi_c",), lambda v: ["0", "1", "0"]),
        "pi_b identity (0, 0)": _set(
            ("pi_b",), lambda v: [["0", "0"], ["0", "0"], ["1", "0"]]
        ),
        "pi_b identity snarkjs": _set(
            ("pi_b",), lambda v: [["0", "0"], ["1", "0"], ["0", "0"]]
        ),
        "pi_a z=2": _set(("pi_a", 2), lambda v: "2"),
        "pi_a.x + q": _set(("pi_a", 0), lambda v: str(int(v) + Q)),
        "pi_b.x.c1 + q": _set(("pi_b", 0, 1), lambda v: str(int(v) + Q)),
        "pi_c.y as int": _set(("pi_c", 1), int),
        "pi_a.x leading zero": _set(("pi_a", 0), lambda v: "0" + v),
        # on-curve points that are the wrong ones (pairing check fails)
        "pi_a negated": _neg_y("pi_a"),
        "pi_c negated": _neg_y("pi_c"),
        "pi_a and pi_c swapped": _swap_a_c,
        "pi_b = G2 generator": _set(("pi_b",), lambda v: _g2_generator()),
        "pi_b outside subgroup": _set(("pi_b",), lambda v: _g2_outside_subgroup()),
        # verification key
        "IC[0] negated": _set(("IC", 0, 1), lambda y: str((Q - int(y)) % Q), "vkey"),
        "IC[1].x+1": _set(("IC", 1, 0), lambda v: _bump(v, 1), "vkey"),
        "vk_alpha_1.y+1": _set(("vk_alpha_1", 1), lambda v: _bump(v, 1), "vkey"),
        "vk_delta_2 outside subgroup": _set(
            ("vk_delta_2",), lambda v: _g2_outside_subgroup(), "vkey"
        ),
        "vk nPublic 2": _set(("nPublic",), lambda v: 2, "vkey"),
    }
)


def _outcome(
    vkey: dict[str, Any], proof: dict[str, Any], public: list[str], backend: str
) -> tuple[Any, ...]:
    try:
        return ("result", verify_groth16(vkey, proof, public, backend))
    except ProofError as exc:
        return ("error", type(exc), exc.code)


def test_at_least_fifty_tampered_cases() -> None:
    """The differential corpus is as large as issue 4 asks."""
    assert len(TAMPERED) >= 50


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_backends_agree_on_tampered_proof(valid: dict[str, Any], name: str) -> None:
    """Both backends return False, or raise the same class and code; no
    tampered proof verifies."""
    vkey = copy.deepcopy(valid["vkey"])
    proof = copy.deepcopy(valid["proof"])
    public = list(valid["public"])
    TAMPERED[name](vkey, proof, public)
    fast = _outcome(vkey, proof, public, "fast")
    reference = _outcome(vkey, proof, public, "reference")
    assert fast == reference
    assert fast != ("result", True)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("pi_a off curve (1, 1)", PointNotOnCurveError),
        ("pi_b identity (0, 0)", PointNotOnCurveError),
        ("pi_b outside subgroup", PointNotInSubgroupError),
        ("vk_delta_2 outside subgroup", PointNotInSubgroupError),
        ("signal+r", SignalOutOfFieldError),
        ("signal negative", SignalOutOfFieldError),
        ("pi_b.x.c1 + q", MalformedProofError),
        ("pi_a identity snarkjs", MalformedProofError),
        ("IC[1].x+1", PointNotOnCurveError),
    ],
)
def test_tampered_case_raises_the_documented_class(
    valid: dict[str, Any], name: str, error: type[ProofError]
) -> None:
    """Selected tampered inputs raise the class the docs name (fast backend)."""
    vkey = copy.deepcopy(valid["vkey"])
    proof = copy.deepcopy(valid["proof"])
    public = list(valid["public"])
    TAMPERED[name](vkey, proof, public)
    with pytest.raises(error) as info:
        verify_groth16(vkey, proof, public)
    assert info.value.code == error.code
