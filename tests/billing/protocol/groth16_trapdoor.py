"""A test-only Groth16 verification key whose trapdoor is known (py_ecc).

Why: the strict profile needs bundles with a *valid* ``billing_proof``. Proving
the real ``apiBillingV2`` circuit needs snarkjs and the ceremony zkey; instead
these tests use a verification key built from known scalars (alpha, beta,
gamma, delta, IC) and produce proofs with the trapdoor (a "simulated" proof,
Groth 2016 §3: with the trapdoor anyone can satisfy the verification equation
for any public input). The proofs are genuine for *this* key: both Groth16
backends (groth16py and py_ecc) accept them, and a proof for another public
signal is rejected. Never use such a key outside tests.

snarkjs checks ``e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta)`` with
``vk_x = IC[0] + s * IC[1]``. Taking ``A = r G1``, ``B = t G2`` and
``C = c G1``, the exponents must satisfy ``r t = a b + (i0 + s i1) g + c d``
(mod the group order), so ``c = (r t - a b - (i0 + s i1) g) / d``.
"""

from __future__ import annotations

import copy
import functools
import secrets
import sys
from dataclasses import dataclass
from typing import Any

_LIMIT = sys.getrecursionlimit()
from py_ecc.optimized_bn128 import (  # noqa: E402
    G1,
    G2,
    curve_order,
    multiply,
    normalize,
)

# py_ecc raises the recursion limit to 100000 on import; restore it so that a
# test parsing deeply nested JSON gets RecursionError, not a C stack overflow.
sys.setrecursionlimit(_LIMIT)


def _g1(scalar: int) -> list[str]:
    x, y = normalize(multiply(G1, scalar))
    return [str(int(x)), str(int(y)), "1"]


def _g2(scalar: int) -> list[list[str]]:
    x, y = normalize(multiply(G2, scalar))
    return [
        [str(int(x.coeffs[0])), str(int(x.coeffs[1]))],
        [str(int(y.coeffs[0])), str(int(y.coeffs[1]))],
        ["1", "0"],
    ]


def _scalar() -> int:
    return secrets.randbelow(curve_order - 1) + 1


@dataclass(frozen=True)
class TrapdoorKey:
    """A one-public-signal Groth16 key (snarkjs layout) and its trapdoor."""

    alpha: int
    beta: int
    gamma: int
    delta: int
    ic0: int
    ic1: int

    @classmethod
    def generate(cls) -> TrapdoorKey:
        """Return a key with fresh random trapdoor scalars."""
        return cls(*(_scalar() for _ in range(6)))

    def verification_key(self) -> dict[str, Any]:
        """Return the snarkjs ``verification_key.json`` object (nPublic 1)."""
        return copy.deepcopy(self._verification_key())

    @functools.cache  # noqa: B019 (few keys per test session)
    def _verification_key(self) -> dict[str, Any]:
        return {
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": 1,
            "vk_alpha_1": _g1(self.alpha),
            "vk_beta_2": _g2(self.beta),
            "vk_gamma_2": _g2(self.gamma),
            "vk_delta_2": _g2(self.delta),
            "IC": [_g1(self.ic0), _g1(self.ic1)],
        }

    def prove(self, public_signal: int) -> dict[str, Any]:
        """Return a snarkjs ``proof.json`` object valid for ``public_signal``."""
        n = curve_order
        r, t = _scalar(), _scalar()
        vk_x = (self.ic0 + public_signal * self.ic1) % n
        c = (r * t - self.alpha * self.beta - vk_x * self.gamma) % n
        c = c * pow(self.delta, -1, n) % n
        return {
            "pi_a": _g1(r),
            "pi_b": _g2(t),
            "pi_c": _g1(c),
            "protocol": "groth16",
            "curve": "bn128",
        }
