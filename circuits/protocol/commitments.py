"""Billing commitments as BN254 scalar-field elements, and their public signal.

A billing attestation commits to four SHA-256 digests (``meter_hash``,
``tariff_hash``, ``charge_hash``, ``billing_verify_fingerprint``). A 256-bit
digest does not fit the BN254 scalar field, so each is split into its high and
low 128-bit halves (big-endian); the eight halves are the
``billing_commitments`` and ``public_signals = [Poseidon(8 commitments)]``,
the single public output of the ``apiBillingV2`` circuit (circomlib
``Poseidon(8)``). The scheme is named by :data:`BINDING_VERSION`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from circuits.protocol.errors import CommitmentError, PoseidonError
from circuits.protocol.poseidon import poseidon
from kernel.protocol.errors import ProtocolError

__all__ = [
    "BILLING_COMMITMENT_COUNT",
    "BINDING_VERSION",
    "billing_public_signal",
    "digest_to_field_pair",
    "field_pair_to_digest",
    "require_commitment_count",
]

#: Names this binding: BN254 (bn128) scalar field, circomlib Poseidon of 8.
BINDING_VERSION = "bn128-poseidon8-v1"
#: Number of field elements hashed into the public signal (4 digests x 2).
BILLING_COMMITMENT_COUNT = 8

_HALF_BITS = 128
_HALF_MASK = (1 << _HALF_BITS) - 1
_DIGEST_HEX = re.compile(r"[0-9a-f]{64}")


def digest_to_field_pair(hex_digest: str) -> tuple[int, int]:
    """Return ``(high, low)``: the 128-bit halves of a SHA-256 digest.

    Shapes: ``hex_digest`` is a 32-byte SHA-256 digest as 64 lowercase hex
    characters. ``high`` is the integer value of its first 16 bytes and
    ``low`` of its last 16 bytes, both big-endian, so
    ``high << 128 | low == int(hex_digest, 16)``; both are in
    ``[0, 2**128)``, hence BN254 scalar-field elements (``2**128 < p``).

    Raises:
        CommitmentError: (``commitment_digest_invalid``) ``hex_digest`` is not
            a ``str`` of exactly 64 lowercase hex characters.

    Spec: DESIGN.md "billing_commitments" (binding ``bn128-poseidon8-v1``).
    """
    if not isinstance(hex_digest, str) or not _DIGEST_HEX.fullmatch(hex_digest):
        shown = repr(hex_digest)[:80]
        raise CommitmentError(
            f"digest is {shown}, expected a 32-byte SHA-256 digest as 64 "
            f"lowercase hex characters",
            field="hex_digest",
        )
    value = int(hex_digest, 16)
    return value >> _HALF_BITS, value & _HALF_MASK


def field_pair_to_digest(high: int, low: int) -> str:
    """Return the 64-char lowercase hex digest whose halves are ``high, low``.

    Inverse of :func:`digest_to_field_pair`: ``high`` and ``low`` are ints in
    ``[0, 2**128)``.

    Raises:
        CommitmentError: (``commitment_digest_invalid``) a half is not an
            ``int`` (``bool`` excluded) in ``[0, 2**128)``.
    """
    for name, half in (("high", high), ("low", low)):
        if type(half) is not int or not 0 <= half <= _HALF_MASK:
            raise CommitmentError(
                f"{name} half is {half!r}, expected an int in [0, 2**128)",
                field=name,
            )
    return f"{high << _HALF_BITS | low:064x}"


def billing_public_signal(commitments: Sequence[int]) -> int:
    """Return ``Poseidon(commitments)``, the billing circuit's public signal.

    Shapes: ``commitments`` is exactly 8 BN254 scalar-field elements (Python
    ``int`` in ``[0, SNARK_SCALAR_FIELD)``), in practice the halves from
    :func:`digest_to_field_pair` of meter_hash, tariff_hash, charge_hash and
    billing_verify_fingerprint, in that order. The result is one field
    element, the sole entry of ``public_signals`` under
    :data:`BINDING_VERSION`.

    Raises:
        PoseidonError: (``poseidon_input_invalid``) ``commitments`` does not
            hold exactly 8 elements, or an element is not a field element.

    Spec: circomlib ``Poseidon(8)``; Grassi et al., "Poseidon: A New Hash
    Function for Zero-Knowledge Proof Systems", USENIX Security 2021.
    """
    require_commitment_count(
        commitments,
        error=PoseidonError,
        count_message="got {count} commitments, expected exactly {expected} "
        "for {binding_version}",
    )
    return poseidon(commitments)


def require_commitment_count(
    commitments: Any,
    *,
    error: type[ProtocolError],
    count_message: str = "got {count} commitments, expected {expected}",
) -> Sequence[Any]:
    """Return ``commitments`` if it is a sequence (not text) of exactly
    :data:`BILLING_COMMITMENT_COUNT` items; the items are not checked.

    ``count_message`` is a :meth:`str.format` template over ``{count}``,
    ``{expected}`` and ``{binding_version}``; ``field`` is ``commitments``.

    Raises:
        error: not a sequence, or another number of items.
    """
    if isinstance(commitments, (str, bytes)) or not isinstance(commitments, Sequence):
        raise error(
            f"commitments are a {type(commitments).__name__}, expected a list of "
            f"{BILLING_COMMITMENT_COUNT} ints",
            field="commitments",
        )
    if len(commitments) != BILLING_COMMITMENT_COUNT:
        raise error(
            count_message.format(
                count=len(commitments),
                expected=BILLING_COMMITMENT_COUNT,
                binding_version=BINDING_VERSION,
            ),
            field="commitments",
        )
    return commitments
