"""Poseidon hash over the BN254 scalar field, identical to circomlib's Poseidon(n).

Pure Python, Django-free. The permutation is the one of Grassi, Khovratovich,
Rechberger, Roy and Schofnegger, "Poseidon: A New Hash Function for
Zero-Knowledge Proof Systems", USENIX Security 2021 (HADES design: x^5 S-box,
8 full rounds split 4 + 4 around the partial rounds), with the parameters of
circomlib / circomlibjs (``src/poseidon_reference.js``): state width
``t = n + 1``, capacity element 0 initialised to 0, ``N_ROUNDS_P[t - 2]``
partial rounds, round constants ``C`` and MDS matrices ``M`` from circomlibjs
``src/poseidon_constants.js`` (shipped as data in
``data/poseidon_constants.json``; provenance in ``data/README.md``). The hash is
element 0 of the state after the permutation.

Field elements are Python ``int`` in ``[0, SNARK_SCALAR_FIELD)``.

If the optional native package ``light-poseidon`` (module
``light_poseidon_python``) imports, :func:`poseidon` uses it for 1..12 inputs,
but only after it has reproduced :func:`poseidon_portable` on a self-test at
first use; :func:`poseidon_portable` never uses it.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from circuits.protocol.errors import PoseidonConstantsError, PoseidonError

__all__ = [
    "MAX_INPUTS",
    "N_ROUNDS_F",
    "N_ROUNDS_P",
    "SNARK_SCALAR_FIELD",
    "accelerator_active",
    "poseidon",
    "poseidon_portable",
]

#: Order of the BN254 (alt_bn128) scalar field, the circom / snarkjs prime ``p``.
SNARK_SCALAR_FIELD = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617
)
#: Full rounds, for every width (circomlibjs ``poseidon_reference.js``).
N_ROUNDS_F = 8
#: Partial rounds, indexed by ``t - 2`` (circomlibjs ``poseidon_reference.js``).
N_ROUNDS_P: tuple[int, ...] = (
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
)  # fmt: skip
#: Largest number of inputs with shipped constants (widths t = 2..17).
MAX_INPUTS = len(N_ROUNDS_P)

_CONSTANTS_FILE = "poseidon_constants.json"
_P = SNARK_SCALAR_FIELD


@dataclass(frozen=True)
class _Params:
    """Constants of one width, as ints: ``rc[r]`` has ``t`` entries, ``mds`` is
    ``t x t``."""

    t: int
    n_rounds_p: int
    rc: tuple[tuple[int, ...], ...]
    mds: tuple[tuple[int, ...], ...]


@lru_cache(maxsize=1)
def _load_document() -> dict[str, Any]:
    text = (
        resources.files("circuits.protocol.data")
        .joinpath(_CONSTANTS_FILE)
        .read_text("utf-8")
    )
    document: dict[str, Any] = json.loads(text)
    # The shipped data must describe the same instance this module implements.
    if (
        int(document["field_modulus"]) != _P
        or document["n_rounds_f"] != N_ROUNDS_F
        or tuple(document["n_rounds_p"]) != N_ROUNDS_P
    ):
        raise PoseidonConstantsError(
            f"{_CONSTANTS_FILE} does not match poseidon.py parameters: expected "
            f"field modulus {_P}, n_rounds_f {N_ROUNDS_F}, n_rounds_p "
            f"{list(N_ROUNDS_P)}"
        )
    return document


@cache
def _params(t: int) -> _Params:
    document = _load_document()
    n_rounds_p = N_ROUNDS_P[t - 2]
    flat = [int(v, 16) for v in document["C"][t - 2]]
    rounds = N_ROUNDS_F + n_rounds_p
    if len(flat) != rounds * t:
        raise PoseidonConstantsError(
            f"{_CONSTANTS_FILE}: C[{t - 2}] has {len(flat)} values, expected "
            f"{rounds * t}"
        )
    rc = tuple(tuple(flat[r * t : (r + 1) * t]) for r in range(rounds))
    mds = tuple(tuple(int(v, 16) for v in row) for row in document["M"][t - 2])
    if len(mds) != t or any(len(row) != t for row in mds):
        raise PoseidonConstantsError(
            f"{_CONSTANTS_FILE}: M[{t - 2}] is not {t}x{t}, found {len(mds)} rows"
        )
    return _Params(t=t, n_rounds_p=n_rounds_p, rc=rc, mds=mds)


def _validate(inputs: Sequence[int]) -> list[int]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise PoseidonError(
            f"poseidon inputs are a {type(inputs).__name__}, expected a list of ints",
            field="inputs",
        )
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise PoseidonError(
            f"poseidon got {n} inputs, expected 1..{MAX_INPUTS}", field="inputs"
        )
    values: list[int] = []
    for i, x in enumerate(inputs):
        # bool is an int subclass; True/False as field elements is a bug upstream.
        if type(x) is not int:
            raise PoseidonError(
                f"poseidon input {i} is a {type(x).__name__}, expected an int "
                f"in [0, p)",
                field=f"inputs[{i}]",
            )
        if not 0 <= x < _P:
            raise PoseidonError(
                f"poseidon input {i} is {x}, expected an int in [0, p) with p = {_P}",
                field=f"inputs[{i}]",
            )
        values.append(x)
    return values


def _permute_first(state: list[int], params: _Params) -> int:
    """Run the permutation on ``state`` and return element 0 (the output)."""
    p = _P
    t = params.t
    mds = params.mds
    rng = range(t)
    half_f = N_ROUNDS_F // 2
    first_partial = half_f
    first_final = half_f + params.n_rounds_p
    for r, rc in enumerate(params.rc):
        # ARK (add round constants), kept < 2p, reduced by the S-box or the MDS.
        state = [s + c for s, c in zip(state, rc, strict=True)]
        if r < first_partial or r >= first_final:
            state = [pow(s, 5, p) for s in state]
        else:
            state[0] = pow(state[0], 5, p)
        # MDS mix; one reduction per row is enough for Python's big ints.
        state = [
            sum(m * s for m, s in zip(mds[i], state, strict=True)) % p for i in rng
        ]
    return state[0]


def poseidon_portable(inputs: Sequence[int]) -> int:
    """Return circomlib ``Poseidon(n)`` of ``inputs``, in pure Python.

    Shapes: ``inputs`` is a list (any sequence) of ``n`` field elements, Python
    ``int`` in ``[0, SNARK_SCALAR_FIELD)``, with ``1 <= n <= 16``; the state
    width is ``t = n + 1``. The result is one field element, an ``int`` in
    ``[0, SNARK_SCALAR_FIELD)``, equal to the output of circomlib's
    ``Poseidon(n)`` circuit and circomlibjs ``buildPoseidon()`` (e.g.
    ``poseidon_portable([1, 2]) == 0x115cc0f5...4417189a``).

    Raises:
        PoseidonError: (``poseidon_input_invalid``) ``inputs`` is not a
            sequence, has fewer than 1 or more than 16 elements, or holds a
            non-``int`` (``bool`` included), a negative value or a value
            ``>= SNARK_SCALAR_FIELD``.

    Spec: Grassi et al., "Poseidon: A New Hash Function for Zero-Knowledge
    Proof Systems", USENIX Security 2021; circomlib ``circuits/poseidon.circom``
    and circomlibjs ``src/poseidon_reference.js`` (version and constants in
    ``circuits/protocol/data/README.md``).
    """
    values = _validate(inputs)
    params = _params(len(values) + 1)
    return _permute_first([0, *values], params)


# --- optional native accelerator -------------------------------------------

#: light-poseidon 0.1.1 supports 1..12 inputs.
_ACCEL_MAX_INPUTS = 12
_accel_lock = threading.Lock()
_accel_state: list[Callable[[list[int]], int] | None] = []  # [] = not yet probed


def _load_accelerator() -> Callable[[list[int]], int] | None:
    try:
        # import_module keeps mypy clean with and without the (untyped) wheel.
        lp = importlib.import_module("light_poseidon_python")
    except ImportError:
        return None

    def native(values: list[int]) -> int:
        out = lp.poseidon_hash_bytes([v.to_bytes(32, "big") for v in values])
        return int(out, 16) if isinstance(out, str) else int(out)

    # Self-test against the portable path: the known vector, then one input
    # set per supported width with values near p (exercises reduction).
    try:
        cases = [[1, 2]] + [
            [(_P - 1 - 7919 * i * n) % _P for i in range(n)]
            for n in range(1, _ACCEL_MAX_INPUTS + 1)
        ]
        for case in cases:
            if native(case) != poseidon_portable(case):
                return None
    except Exception:  # noqa: BLE001 - any failure of the extension disables it
        return None
    return native


def _accelerator() -> Callable[[list[int]], int] | None:
    if not _accel_state:
        with _accel_lock:
            if not _accel_state:
                _accel_state.append(_load_accelerator())
    return _accel_state[0]


def accelerator_active() -> bool:
    """Return ``True`` when :func:`poseidon` uses the light-poseidon extension.

    Probes (imports and self-tests) the extension on first call. ``False``
    when it does not import or did not reproduce :func:`poseidon_portable`.
    """
    return _accelerator() is not None


def poseidon(inputs: Sequence[int]) -> int:
    """Return circomlib ``Poseidon(n)`` of ``inputs``.

    Same shapes, errors and result as :func:`poseidon_portable` (1..16 field
    elements, Python ``int`` in ``[0, SNARK_SCALAR_FIELD)``, in; one field
    element out). Uses the native light-poseidon extension for 1..12 inputs
    when it imports and passed its self-test against
    :func:`poseidon_portable` (see :func:`accelerator_active`), else the pure
    Python path.

    Raises:
        PoseidonError: (``poseidon_input_invalid``) as
            :func:`poseidon_portable`.

    Spec: Grassi et al., "Poseidon: A New Hash Function for Zero-Knowledge
    Proof Systems", USENIX Security 2021; circomlib ``Poseidon(n)``.
    """
    values = _validate(inputs)
    if len(values) <= _ACCEL_MAX_INPUTS:
        native = _accelerator()
        if native is not None:
            return native(values)
    return _permute_first([0, *values], _params(len(values) + 1))
