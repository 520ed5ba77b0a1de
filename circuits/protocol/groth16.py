"""Groth16 over BN254: strict snarkjs JSON parsing and two verifiers.

Django-free. The three snarkjs files are parsed strictly here, once, for both
backends (snarkjs 0.7 layouts; spec: snarkjs ``README.md`` "Verify the
proof", ``src/groth16_verify.js``):

- ``verification_key.json``: ``{"protocol": "groth16", "curve": "bn128",
  "nPublic": n, "vk_alpha_1": G1, "vk_beta_2": G2, "vk_gamma_2": G2,
  "vk_delta_2": G2, "IC": [G1] * (n + 1)}`` plus the optional, derived
  ``vk_alphabeta_12`` (accepted and ignored: it is ``e(alpha, beta)``, which
  both backends recompute).
- ``proof.json``: ``{"pi_a": G1, "pi_b": G2, "pi_c": G1, "protocol":
  "groth16", "curve": "bn128"}``.
- ``public.json``: ``[decimal string] * n`` (circuit outputs, then public
  inputs).

where ``G1 = [x, y, "1"]`` and ``G2 = [[x.c0, x.c1], [y.c0, y.c1], ["1",
"0"]]`` (affine, projective ``z = 1``), every coordinate a canonical decimal
string (no sign, no leading zero) of an element of the base field ``F_q``.
Public signals are canonical decimal strings of elements of the scalar field
``F_r`` (:data:`SNARK_SCALAR_FIELD`); a negative one or one ``>= r`` raises
:class:`~circuits.protocol.errors.SignalOutOfFieldError`. Unknown or missing
keys are errors: nothing is ignored except ``vk_alphabeta_12``.

Curve membership is each backend's own business, so that the differential
tests compare two independent implementations:

- ``"fast"``: the ``groth16py`` package (arkworks ``ark-bn254`` /
  ``ark-groth16``, Rust) checks coordinates, the curve equations and the G2
  subgroup when it decodes the points, then runs a prepared pairing check.
  Its exceptions are mapped onto our classes; a Rust panic
  (``pyo3_runtime.PanicException``, a ``BaseException``) becomes
  :class:`~circuits.protocol.errors.Groth16BackendError` and never escapes.
- ``"reference"``: pure Python on ``py_ecc.optimized_bn128``: on-curve
  checks (G1 has cofactor 1), a G2 subgroup check (``[r - 1]P == -P``), and
  the snarkjs verification equation
  ``e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1`` with
  ``vk_x = IC[0] + sum(s_i * IC[i + 1])``, as one product of Miller loops
  and a single final exponentiation. About 0.5 s per proof.

A well-formed proof that fails the pairing check makes
:func:`verify_groth16` return ``False``; anything that is not a well-formed
proof, key or signal list raises a
:class:`~circuits.protocol.errors.ProofError` subclass.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

import groth16py

from circuits.protocol.errors import (
    Groth16BackendError,
    MalformedProofError,
    MalformedPublicSignalsError,
    MalformedVerificationKeyError,
    PointNotInSubgroupError,
    PointNotOnCurveError,
    ProofError,
    SignalOutOfFieldError,
    UnknownBackendError,
)
from circuits.protocol.poseidon import SNARK_SCALAR_FIELD

# py_ecc raises the interpreter's recursion limit to 100000 when first
# imported; with that limit, deeply nested JSON (e.g. a hostile verify body)
# overflows the C stack and kills the process instead of raising
# RecursionError. The reference backend needs no more than the default.
_RECURSION_LIMIT = sys.getrecursionlimit()
from py_ecc.fields import optimized_bn128_FQ as FQ  # noqa: E402
from py_ecc.fields import optimized_bn128_FQ2 as FQ2  # noqa: E402
from py_ecc.fields import optimized_bn128_FQ12 as FQ12  # noqa: E402
from py_ecc.optimized_bn128 import optimized_curve as curve  # noqa: E402
from py_ecc.optimized_bn128 import optimized_pairing as pairing  # noqa: E402

sys.setrecursionlimit(_RECURSION_LIMIT)


__all__ = [
    "BACKENDS",
    "BN254_BASE_FIELD",
    "G1Point",
    "G2Point",
    "Groth16Proof",
    "SNARK_SCALAR_FIELD",
    "VerificationKey",
    "parse_proof",
    "parse_public_signals",
    "parse_verification_key",
    "proof_from_eth_bytes",
    "verify_groth16",
]

#: Order ``q`` of the BN254 base field ``F_q`` (point coordinates).
BN254_BASE_FIELD = (
    21888242871839275222246405745257275088696311157297823662689037894645226208583
)
#: The verifier backends :func:`verify_groth16` accepts.
BACKENDS = ("fast", "reference")

#: Affine G1 point ``(x, y)``, ints in ``[0, q)``.
G1Point: TypeAlias = tuple[int, int]
#: Affine G2 point ``((x.c0, x.c1), (y.c0, y.c1))``, ``x = x.c0 + x.c1 * u``.
G2Point: TypeAlias = tuple[tuple[int, int], tuple[int, int]]

# Canonical decimal: no sign, no leading zeros; 1..78 digits bounds int().
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,77})\Z")
_SIGNED_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,99})\Z")
_PROOF_KEYS = frozenset({"pi_a", "pi_b", "pi_c", "protocol", "curve"})
_VKEY_KEYS = frozenset(
    {
        "protocol",
        "curve",
        "nPublic",
        "vk_alpha_1",
        "vk_beta_2",
        "vk_gamma_2",
        "vk_delta_2",
        "IC",
    }
)
_VKEY_OPTIONAL_KEYS = frozenset({"vk_alphabeta_12"})
#: Upper bound on nPublic: far above any circuit here, keeps parsing bounded.
_MAX_PUBLIC = 1024

_ProofErrorClass: TypeAlias = type[MalformedProofError | MalformedVerificationKeyError]


@dataclass(frozen=True)
class Groth16Proof:
    """A parsed ``proof.json``: points ``a`` (G1), ``b`` (G2), ``c`` (G1).

    Coordinates are ints in ``[0, q)``; curve membership is *not* checked
    here (each verifier backend checks it).
    """

    a: G1Point
    b: G2Point
    c: G1Point

    def to_snarkjs(self) -> dict[str, Any]:
        """Return the snarkjs ``proof.json`` object (decimal strings)."""
        return {
            "pi_a": _g1_json(self.a),
            "pi_b": _g2_json(self.b),
            "pi_c": _g1_json(self.c),
            "protocol": "groth16",
            "curve": "bn128",
        }

    def to_eth_bytes(self) -> bytes:
        """Return the 256-byte Ethereum/Solidity encoding (``uint256[8]``).

        Shapes: big-endian 32-byte words ``A.x, A.y, B.x.c1, B.x.c0,
        B.y.c1, B.y.c0, C.x, C.y`` (EIP-197 order: the imaginary part of an
        ``F_q2`` element comes first), the layout ``groth16py`` reads and
        writes.
        """
        (bx0, bx1), (by0, by1) = self.b
        words = (*self.a, bx1, bx0, by1, by0, *self.c)
        return b"".join(w.to_bytes(32, "big") for w in words)


@dataclass(frozen=True)
class VerificationKey:
    """A parsed ``verification_key.json`` (points unchecked, like the proof).

    ``ic`` has ``n_public + 1`` G1 points.
    """

    alpha_1: G1Point
    beta_2: G2Point
    gamma_2: G2Point
    delta_2: G2Point
    ic: tuple[G1Point, ...]

    @property
    def n_public(self) -> int:
        """Return the number of public signals the key expects."""
        return len(self.ic) - 1

    def to_snarkjs(self) -> dict[str, Any]:
        """Return the snarkjs ``verification_key.json`` object, without the
        derived ``vk_alphabeta_12``."""
        return {
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": self.n_public,
            "vk_alpha_1": _g1_json(self.alpha_1),
            "vk_beta_2": _g2_json(self.beta_2),
            "vk_gamma_2": _g2_json(self.gamma_2),
            "vk_delta_2": _g2_json(self.delta_2),
            "IC": [_g1_json(p) for p in self.ic],
        }


def _g1_json(p: G1Point) -> list[str]:
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p: G2Point) -> list[list[str]]:
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def _load(obj: Any, error: type[ProofError], what: str) -> Any:
    """Decode JSON text (``str``/``bytes``); pass decoded JSON through."""
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            return json.loads(obj)
        except (ValueError, RecursionError) as exc:
            raise error(f"{what} is not valid JSON: {exc}", field=what) from None
    return obj


def _coordinate(value: Any, error: _ProofErrorClass, field: str) -> int:
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise error(
            f"{field} is {repr(value)[:90]}, expected a canonical decimal string "
            f"of a BN254 base-field element",
            field=field,
        )
    number = int(value)
    if number >= BN254_BASE_FIELD:
        raise error(
            f"{field} is {value}, expected an element of F_q (< {BN254_BASE_FIELD})",
            field=field,
        )
    return number


def _parse_g1(value: Any, error: _ProofErrorClass, field: str) -> G1Point:
    if not isinstance(value, list) or len(value) != 3:
        raise error(
            f'{field} is {repr(value)[:90]}, expected a G1 point [x, y, "1"]',
            field=field,
        )
    if value[2] != "1":
        raise error(
            f'{field}[2] is {repr(value[2])[:90]}, expected "1" (affine point; '
            f"the point at infinity is not a valid proof or key element)",
            field=f"{field}[2]",
        )
    return (
        _coordinate(value[0], error, f"{field}[0]"),
        _coordinate(value[1], error, f"{field}[1]"),
    )


def _parse_g2(value: Any, error: _ProofErrorClass, field: str) -> G2Point:
    shape_ok = (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, list) and len(v) == 2 for v in value)
    )
    if not shape_ok:
        raise error(
            f"{field} is {repr(value)[:90]}, expected a G2 point "
            f'[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]',
            field=field,
        )
    if value[2] != ["1", "0"]:
        raise error(
            f'{field}[2] is {repr(value[2])[:90]}, expected ["1", "0"] '
            f"(affine point; the point at infinity is not valid here)",
            field=f"{field}[2]",
        )
    x = (
        _coordinate(value[0][0], error, f"{field}[0][0]"),
        _coordinate(value[0][1], error, f"{field}[0][1]"),
    )
    y = (
        _coordinate(value[1][0], error, f"{field}[1][0]"),
        _coordinate(value[1][1], error, f"{field}[1][1]"),
    )
    return (x, y)


def _check_header(obj: Mapping[str, Any], error: _ProofErrorClass, what: str) -> None:
    for key, expected in (("protocol", "groth16"), ("curve", "bn128")):
        if obj.get(key) != expected:
            raise error(
                f"{what} {key} is {repr(obj.get(key))[:60]}, expected {expected!r}",
                field=key,
            )


def parse_proof(proof: Any) -> Groth16Proof:
    """Return the :class:`Groth16Proof` of a snarkjs ``proof.json``.

    Shapes: ``proof`` is the decoded JSON object (or its JSON text) with
    exactly the keys ``pi_a``, ``pi_b``, ``pi_c``, ``protocol`` (=
    ``"groth16"``) and ``curve`` (= ``"bn128"``); see the module docstring
    for the point layouts.

    Raises:
        MalformedProofError: (``groth16_malformed_proof``) any layout
            violation: not an object, missing or extra keys, wrong protocol
            or curve, a coordinate that is not a canonical decimal string in
            ``[0, q)``, or ``z`` not ``"1"`` / ``["1", "0"]``.

    Spec: snarkjs ``groth16 prove`` output (``proof.json``).
    """
    obj = _load(proof, MalformedProofError, "proof")
    if not isinstance(obj, Mapping):
        raise MalformedProofError(
            f"proof is a {type(obj).__name__}, expected a JSON object", field="proof"
        )
    keys = set(obj)
    if keys != _PROOF_KEYS:
        raise MalformedProofError(
            f"proof has keys {sorted(map(str, keys))}, expected exactly "
            f"{sorted(_PROOF_KEYS)}",
            field="proof",
        )
    _check_header(obj, MalformedProofError, "proof")
    return Groth16Proof(
        a=_parse_g1(obj["pi_a"], MalformedProofError, "pi_a"),
        b=_parse_g2(obj["pi_b"], MalformedProofError, "pi_b"),
        c=_parse_g1(obj["pi_c"], MalformedProofError, "pi_c"),
    )


def parse_verification_key(vkey: Any) -> VerificationKey:
    """Return the :class:`VerificationKey` of a snarkjs ``verification_key.json``.

    Shapes: the decoded JSON object (or its text) with exactly the keys
    ``protocol``, ``curve``, ``nPublic`` (JSON integer), ``vk_alpha_1``,
    ``vk_beta_2``, ``vk_gamma_2``, ``vk_delta_2``, ``IC`` (``nPublic + 1``
    G1 points) and optionally ``vk_alphabeta_12`` (ignored).

    Raises:
        MalformedVerificationKeyError: (``groth16_malformed_vkey``) any
            layout violation, or ``nPublic != len(IC) - 1``.

    Spec: snarkjs ``zkey export verificationkey`` output.
    """
    obj = _load(vkey, MalformedVerificationKeyError, "verification_key")
    if not isinstance(obj, Mapping):
        raise MalformedVerificationKeyError(
            f"verification key is a {type(obj).__name__}, expected a JSON object",
            field="verification_key",
        )
    keys = set(obj)
    if not _VKEY_KEYS <= keys or keys - _VKEY_KEYS - _VKEY_OPTIONAL_KEYS:
        raise MalformedVerificationKeyError(
            f"verification key has keys {sorted(map(str, keys))}, expected "
            f"{sorted(_VKEY_KEYS)} and optionally {sorted(_VKEY_OPTIONAL_KEYS)}",
            field="verification_key",
        )
    _check_header(obj, MalformedVerificationKeyError, "verification key")
    n_public = obj["nPublic"]
    if type(n_public) is not int or not 0 <= n_public <= _MAX_PUBLIC:
        raise MalformedVerificationKeyError(
            f"nPublic is {repr(n_public)[:60]}, expected an integer in "
            f"[0, {_MAX_PUBLIC}]",
            field="nPublic",
        )
    ic = obj["IC"]
    if not isinstance(ic, list) or len(ic) != n_public + 1:
        shown = len(ic) if isinstance(ic, list) else type(ic).__name__
        raise MalformedVerificationKeyError(
            f"IC has {shown} points, expected nPublic + 1 = {n_public + 1}",
            field="IC",
        )
    err = MalformedVerificationKeyError
    return VerificationKey(
        alpha_1=_parse_g1(obj["vk_alpha_1"], err, "vk_alpha_1"),
        beta_2=_parse_g2(obj["vk_beta_2"], err, "vk_beta_2"),
        gamma_2=_parse_g2(obj["vk_gamma_2"], err, "vk_gamma_2"),
        delta_2=_parse_g2(obj["vk_delta_2"], err, "vk_delta_2"),
        ic=tuple(_parse_g1(p, err, f"IC[{i}]") for i, p in enumerate(ic)),
    )


def parse_public_signals(
    public_signals: Any, n_public: int | None = None
) -> tuple[int, ...]:
    """Return the public signals of a snarkjs ``public.json`` as field ints.

    Shapes: a JSON array (or its text) of canonical decimal strings, each an
    element of the BN254 scalar field ``[0, r)``; ``n_public``, when given,
    is the exact count the verification key expects.

    Raises:
        MalformedPublicSignalsError: (``groth16_malformed_public_signals``)
            not a list, an entry that is not a canonical decimal string, or
            ``len != n_public``.
        SignalOutOfFieldError: (``groth16_signal_out_of_field``) an entry
            is a negative integer or ``>= SNARK_SCALAR_FIELD``.
    """
    obj = _load(public_signals, MalformedPublicSignalsError, "public_signals")
    if not isinstance(obj, list):
        raise MalformedPublicSignalsError(
            f"public signals are a {type(obj).__name__}, expected a JSON array of "
            f"decimal strings",
            field="public_signals",
        )
    if n_public is not None and len(obj) != n_public:
        raise MalformedPublicSignalsError(
            f"got {len(obj)} public signals, expected {n_public} (nPublic of the "
            f"verification key)",
            field="public_signals",
        )
    values: list[int] = []
    for index, item in enumerate(obj):
        field = f"public_signals[{index}]"
        if not isinstance(item, str) or not _SIGNED_DECIMAL.match(item):
            raise MalformedPublicSignalsError(
                f"{field} is {repr(item)[:90]}, expected a canonical decimal string",
                field=field,
            )
        value = int(item)
        if not 0 <= value < SNARK_SCALAR_FIELD:
            raise SignalOutOfFieldError(
                f"{field} is {item[:90]}, expected an element of the BN254 scalar "
                f"field [0, {SNARK_SCALAR_FIELD})",
                field=field,
            )
        values.append(value)
    return tuple(values)


def proof_from_eth_bytes(blob: bytes) -> Groth16Proof:
    """Return the :class:`Groth16Proof` of a 256-byte ``uint256[8]`` blob.

    Inverse of :meth:`Groth16Proof.to_eth_bytes` (the encoding
    ``groth16py.prove`` returns).

    Raises:
        MalformedProofError: (``groth16_malformed_proof``) not 256 bytes, or
            a word ``>= q``.
    """
    if not isinstance(blob, (bytes, bytearray)) or len(blob) != 256:
        raise MalformedProofError(
            f"proof blob has {len(blob) if isinstance(blob, (bytes, bytearray)) else '?'}"
            f" bytes, expected 256 (uint256[8])",
            field="proof",
        )
    words = [int.from_bytes(blob[i : i + 32], "big") for i in range(0, 256, 32)]
    for i, word in enumerate(words):
        if word >= BN254_BASE_FIELD:
            raise MalformedProofError(
                f"proof word {i} is {word}, expected < q", field="proof"
            )
    ax, ay, bx1, bx0, by1, by0, cx, cy = words
    return Groth16Proof(a=(ax, ay), b=((bx0, bx1), (by0, by1)), c=(cx, cy))


# --------------------------------------------------------------------------
# Fast backend: groth16py (arkworks)
# --------------------------------------------------------------------------

_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _map_backend_error(exc: BaseException, what: str) -> ProofError:
    """Translate a ``groth16py`` exception (or Rust panic) to our classes."""
    text = str(exc)
    malformed = MalformedVerificationKeyError if what == "vkey" else MalformedProofError
    if isinstance(exc, groth16py.EncodingError):
        if "subgroup" in text:
            return PointNotInSubgroupError(f"{what}: {text}", field=what)
        if "not on curve" in text:
            return PointNotOnCurveError(f"{what}: {text}", field=what)
        if "SNARK_SCALAR_FIELD" in text or "field element" in text:
            return SignalOutOfFieldError(f"{text}", field="public_signals")
        return malformed(f"{what}: {text}", field=what)
    if isinstance(exc, groth16py.VerificationError):
        return MalformedPublicSignalsError(text, field="public_signals")
    return Groth16BackendError(
        f"groth16py failed ({type(exc).__name__}) on the {what}: {text}"[:500],
        field=what,
    )


@lru_cache(maxsize=32)
def _fast_verifier(vk: VerificationKey) -> groth16py.Verifier:
    """Return a prepared ``groth16py.Verifier`` for ``vk`` (cached per key)."""
    try:
        key = groth16py.VerifyingKey.from_snarkjs(json.dumps(vk.to_snarkjs()))
        return groth16py.Verifier(key)
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # PanicException is a BaseException
        raise _map_backend_error(exc, "vkey") from None


def _verify_fast(
    vk: VerificationKey, proof: Groth16Proof, signals: tuple[int, ...]
) -> bool:
    verifier = _fast_verifier(vk)
    try:
        return bool(verifier.verify(proof.to_eth_bytes(), list(signals)))
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # PanicException is a BaseException
        raise _map_backend_error(exc, "proof") from None


# --------------------------------------------------------------------------
# Reference backend: py_ecc (pure Python)
# --------------------------------------------------------------------------

_OptG1: TypeAlias = tuple[FQ, FQ, FQ]
_OptG2: TypeAlias = tuple[FQ2, FQ2, FQ2]


def _ref_g1(p: G1Point, field: str) -> _OptG1:
    point = (FQ(p[0]), FQ(p[1]), FQ.one())
    if not curve.is_on_curve(point, curve.b):
        raise PointNotOnCurveError(
            f"{field} ({p[0]}, {p[1]}) is not on the BN254 G1 curve y^2 = x^3 + 3",
            field=field,
        )
    # G1 has cofactor 1: every point on the curve is in the subgroup.
    return point


def _ref_g2(p: G2Point, field: str) -> _OptG2:
    (x0, x1), (y0, y1) = p
    point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not curve.is_on_curve(point, curve.b2):
        raise PointNotOnCurveError(
            f"{field} is not on the BN254 G2 twist y^2 = x^3 + 3/(9+u)",
            field=field,
        )
    # [r]P == O  <=>  [r - 1]P == -P  (py_ecc reduces scalars mod r).
    if not curve.eq(curve.multiply(point, SNARK_SCALAR_FIELD - 1), curve.neg(point)):
        raise PointNotInSubgroupError(
            f"{field} is on the G2 twist but not in the order-r subgroup",
            field=field,
        )
    return point


@dataclass(frozen=True)
class _RefKey:
    ic: tuple[_OptG1, ...]
    gamma_2: _OptG2
    delta_2: _OptG2
    alpha_beta_miller: FQ12


@lru_cache(maxsize=8)
def _ref_key(vk: VerificationKey) -> _RefKey:
    """Return ``vk``'s points checked and converted, and the Miller loop of
    ``e(alpha, beta)`` (cached per key: it does not depend on the proof)."""
    alpha = _ref_g1(vk.alpha_1, "vk_alpha_1")
    beta = _ref_g2(vk.beta_2, "vk_beta_2")
    return _RefKey(
        ic=tuple(_ref_g1(p, f"IC[{i}]") for i, p in enumerate(vk.ic)),
        gamma_2=_ref_g2(vk.gamma_2, "vk_gamma_2"),
        delta_2=_ref_g2(vk.delta_2, "vk_delta_2"),
        alpha_beta_miller=pairing.pairing(beta, alpha, final_exponentiate=False),
    )


def _verify_reference(
    vk: VerificationKey, proof: Groth16Proof, signals: tuple[int, ...]
) -> bool:
    key = _ref_key(vk)
    a = _ref_g1(proof.a, "pi_a")
    b = _ref_g2(proof.b, "pi_b")
    c = _ref_g1(proof.c, "pi_c")
    vk_x = key.ic[0]
    for signal, ic_point in zip(signals, key.ic[1:], strict=True):
        vk_x = curve.add(vk_x, curve.multiply(ic_point, signal))
    product = (
        pairing.pairing(b, curve.neg(a), final_exponentiate=False)
        * key.alpha_beta_miller
        * pairing.pairing(key.gamma_2, vk_x, final_exponentiate=False)
        * pairing.pairing(key.delta_2, c, final_exponentiate=False)
    )
    return bool(pairing.final_exponentiate(product) == FQ12.one())


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def verify_groth16(
    vkey: Mapping[str, Any] | str | bytes,
    proof: Mapping[str, Any] | str | bytes,
    public_signals: Sequence[str] | str | bytes,
    backend: str = "fast",
) -> bool:
    """Return whether ``proof`` is a valid Groth16 proof of ``public_signals``
    under ``vkey``.

    Shapes: the snarkjs ``verification_key.json``, ``proof.json`` and
    ``public.json`` contents, decoded (``dict`` / ``list``) or as JSON text;
    see the module docstring. ``backend`` is ``"fast"`` (``groth16py``,
    about 1-2 ms with the key prepared and cached) or ``"reference"``
    (``py_ecc``, about 0.5 s). Both backends accept and reject the same
    inputs and raise the same classes.

    Returns ``False`` for a well-formed proof, key and signals whose pairing
    check fails (a wrong signal, a tampered but on-curve point).

    Raises:
        UnknownBackendError: ``backend`` is not in :data:`BACKENDS`.
        MalformedVerificationKeyError, MalformedProofError,
        MalformedPublicSignalsError, SignalOutOfFieldError: layout
            violations (see :func:`parse_verification_key`,
            :func:`parse_proof`, :func:`parse_public_signals`).
        PointNotOnCurveError: a proof or key point is not on its curve.
        PointNotInSubgroupError: a G2 point is outside the order-r subgroup.
        Groth16BackendError: ``groth16py`` failed unexpectedly (including a
            Rust panic, which is never let through).

    Spec: Groth, "On the Size of Pairing-based Non-interactive Arguments",
    EUROCRYPT 2016; snarkjs ``src/groth16_verify.js``.
    """
    if backend not in BACKENDS:
        raise UnknownBackendError(
            f"backend is {backend!r}, expected one of {list(BACKENDS)}",
            field="backend",
        )
    vk = parse_verification_key(vkey)
    parsed_proof = parse_proof(proof)
    signals = parse_public_signals(public_signals, vk.n_public)
    if backend == "fast":
        return _verify_fast(vk, parsed_proof, signals)
    return _verify_reference(vk, parsed_proof, signals)
