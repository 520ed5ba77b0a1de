"""The prover's input: eight BN254 scalar-field commitments, checked before
anything is proved or queued; and the exceptions the prover never converts.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.protocol.commitments import (
    BILLING_COMMITMENT_COUNT,
    require_commitment_count,
)
from circuits.protocol.errors import ProverInputError
from circuits.protocol.groth16 import SNARK_SCALAR_FIELD

__all__ = ["INPUT_SIGNAL", "PASS_THROUGH", "SELF_TEST_INPUTS", "check_commitments"]

#: Name of the circuit's input signal (``signal input commitments[8]``).
INPUT_SIGNAL = "commitments"
#: Fixed inputs of the start-up self-test proof.
SELF_TEST_INPUTS = tuple(range(1, BILLING_COMMITMENT_COUNT + 1))
#: Exceptions let through untouched; every other ``BaseException`` from
#: ``groth16py`` (a Rust panic is a ``pyo3_runtime.PanicException``) is
#: converted into a prover error.
PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


def check_commitments(commitments: Sequence[int]) -> tuple[int, ...]:
    """Return ``commitments`` as a tuple of 8 ints in ``[0, SNARK_SCALAR_FIELD)``.

    Raises:
        ProverInputError: (``groth16_prover_input_invalid``) not a sequence,
            not 8 items, or an item that is not such an int (``field`` names
            it, e.g. ``commitments[3]``).
    """
    require_commitment_count(commitments, error=ProverInputError)
    for index, value in enumerate(commitments):
        if type(value) is not int or not 0 <= value < SNARK_SCALAR_FIELD:
            raise ProverInputError(
                f"commitments[{index}] is {value!r:.90}, expected an int in "
                f"[0, SNARK_SCALAR_FIELD)",
                field=f"commitments[{index}]",
            )
    return tuple(commitments)
