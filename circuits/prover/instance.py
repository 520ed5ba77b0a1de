"""The process-wide prover: built once on first use, from the settings.

:func:`billing_proof_create` is the one call the billing services need: the
verified ``billing_proof`` bundle member for 8 commitments.
"""

from __future__ import annotations

import threading
from typing import Any

from circuits.prover.backend import Groth16Prover
from circuits.settings import circuits_settings
from kernel.settings import kernel_settings

__all__ = ["billing_proof_create", "get_prover", "reset_prover"]

_PROVER: Groth16Prover | None = None
_PROVER_LOCK = threading.Lock()


def get_prover() -> Groth16Prover:
    """Return the process-wide :class:`Groth16Prover`, building it on first use.

    Reads ``kernel_settings.circuit_artifacts_dir`` (the artifact directory)
    and ``circuits_settings.prover_cache_dir`` (the proving-key cache).
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
            _PROVER = Groth16Prover(
                kernel_settings.circuit_artifacts_dir,
                cache_dir=circuits_settings.prover_cache_dir,
            )
        return _PROVER


def reset_prover() -> None:
    """Forget the process-wide prover (tests; after artifacts change)."""
    global _PROVER
    with _PROVER_LOCK:
        _PROVER = None


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
