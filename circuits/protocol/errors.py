"""Errors raised by ``circuits.protocol`` (Poseidon, commitments).

Every class derives from :class:`transparency.protocol.errors.ProtocolError`
(the lowest layer) through :class:`CircuitsProtocolError`, and carries a
stable snake_case ``code`` that the HTTP layer and the offline CLI report.
"""

from __future__ import annotations

from transparency.protocol.errors import ProtocolError

__all__ = ["CircuitsProtocolError", "CommitmentError", "PoseidonError"]


class CircuitsProtocolError(ProtocolError):
    """Root of the errors raised by ``circuits.protocol``."""

    code = "circuits_protocol_error"


class PoseidonError(CircuitsProtocolError):
    """Poseidon input is not a list of 1..16 BN254 scalar-field elements.

    Raised for a wrong number of inputs, a non-``int`` (including ``bool``),
    a negative value, or a value ``>= SNARK_SCALAR_FIELD``.
    """

    code = "poseidon_input_invalid"


class CommitmentError(CircuitsProtocolError):
    """A digest to commit to is not a 32-byte SHA-256 digest in lowercase hex."""

    code = "commitment_digest_invalid"
