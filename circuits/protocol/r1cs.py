"""Read the header of a circom ``.r1cs`` file (iden3 binary format, version 1).

The manifest records constraint and wire counts read here, independently of
snarkjs and of the compiler's console output. Layout (little-endian; spec:
iden3/r1csfile ``doc/r1cs_bin_format.md``)::

    magic "r1cs" | version u32 (=1) | n_sections u32
    section*: type u32 | size u64 | body[size]
    header section (type 1): field_size u32 | prime[field_size] | n_wires u32 |
        n_pub_out u32 | n_pub_in u32 | n_prv_in u32 | n_labels u64 |
        m_constraints u32
    constraints section (type 2): m_constraints x (A, B, C), each a linear
        combination: n_terms u32 | n_terms x (wire_id u32 | coeff[field_size])

The constraint section is walked too, so a header that lies about
``m_constraints`` is caught. :func:`read_r1cs` also decodes the constraints
and :func:`r1cs_unsatisfied` checks a witness against them (``<A, w> *
<B, w> == <C, w>`` modulo the prime, the R1CS relation; snarkjs ``wtns
check`` does the same).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from circuits.protocol.binfile import BinFileError, read_bin_file
from circuits.protocol.errors import R1csFormatError, WitnessValueError

__all__ = [
    "BN254_SCALAR_FIELD",
    "LinearCombination",
    "R1cs",
    "R1csHeader",
    "read_r1cs",
    "read_r1cs_header",
    "r1cs_unsatisfied",
]

#: The BN254 (bn128) scalar field prime, the only field this project uses.
BN254_SCALAR_FIELD = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617
)

_MAGIC = b"r1cs"
_HEADER_SECTION = 1
_CONSTRAINTS_SECTION = 2


@dataclass(frozen=True)
class R1csHeader:
    """Counts from an R1CS header.

    ``constraints`` counts the (non-linear, after ``--O2``) constraints;
    ``wires`` includes the constant wire ``one``; ``public_signals`` is
    ``public_outputs + public_inputs`` (snarkjs ``nPublic``).
    """

    prime: int
    wires: int
    public_outputs: int
    public_inputs: int
    private_inputs: int
    labels: int
    constraints: int

    @property
    def public_signals(self) -> int:
        """Return the number of public signals (outputs, then public inputs)."""
        return self.public_outputs + self.public_inputs

    def to_json(self) -> dict[str, int]:
        """Return the counts as a JSON object (the manifest's ``r1cs`` member)."""
        return {
            "constraints": self.constraints,
            "wires": self.wires,
            "public_outputs": self.public_outputs,
            "public_inputs": self.public_inputs,
            "private_inputs": self.private_inputs,
            "labels": self.labels,
        }


def _unpack(fmt: str, data: bytes, offset: int, what: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if offset + size > len(data):
        raise R1csFormatError(
            f"r1cs truncated reading {what} at byte {offset} "
            f"(file is {len(data)} bytes)"
        )
    return struct.unpack_from(fmt, data, offset)


def _sections(data: bytes) -> dict[int, tuple[int, int]]:
    """Return the section table of an r1cs file (version 1).

    Raises:
        R1csFormatError: bad magic or version, or a malformed section table.
    """
    try:
        container = read_bin_file(data, _MAGIC)
    except BinFileError as exc:
        raise R1csFormatError(f"r1cs: {exc}") from None
    if container.version != 1:
        raise R1csFormatError(f"r1cs version is {container.version}, expected 1")
    return container.sections


def read_r1cs_header(data: bytes) -> R1csHeader:
    """Return the counts of an R1CS file given its bytes.

    Raises:
        R1csFormatError: (``r1cs_malformed``) bad magic or version, truncated
            data, no header section, a field other than BN254's scalar field,
            or a constraint section whose length disagrees with the header.
    """
    sections = _sections(data)
    if _HEADER_SECTION not in sections:
        raise R1csFormatError("r1cs has no header section (type 1)")
    pos, _size = sections[_HEADER_SECTION]
    (field_size,) = _unpack("<I", data, pos, "field size")
    if field_size != 32:
        raise R1csFormatError(f"r1cs field size is {field_size} bytes, expected 32")
    prime = int.from_bytes(data[pos + 4 : pos + 36], "little")
    if prime != BN254_SCALAR_FIELD:
        raise R1csFormatError(f"r1cs prime is {prime}, expected BN254's scalar field")
    wires, pub_out, pub_in, prv_in, labels, constraints = _unpack(
        "<IIIIQI", data, pos + 36, "header counts"
    )
    if _CONSTRAINTS_SECTION in sections:
        _check_constraints(data, *sections[_CONSTRAINTS_SECTION], constraints)
    return R1csHeader(
        prime=prime,
        wires=wires,
        public_outputs=pub_out,
        public_inputs=pub_in,
        private_inputs=prv_in,
        labels=labels,
        constraints=constraints,
    )


def _check_constraints(data: bytes, start: int, size: int, expected: int) -> None:
    """Walk the constraint section; raise unless it holds ``expected`` ones."""
    pos, end, count = start, start + size, 0
    while pos < end:
        for _ in range(3):  # A, B, C
            (n_terms,) = _unpack("<I", data, pos, "linear combination")
            pos += 4 + n_terms * 36
        count += 1
    if pos != end or count != expected:
        raise R1csFormatError(
            f"r1cs constraint section holds {count} constraints "
            f"(ends at {pos}, section ends at {end}), header says {expected}"
        )


#: A linear combination: wire id -> coefficient (an int in ``[0, prime)``).
LinearCombination = dict[int, int]


@dataclass(frozen=True)
class R1cs:
    """An R1CS: its header and its constraints ``(A, B, C)``, each a
    :data:`LinearCombination` over wire ids (wire 0 is the constant ``1``)."""

    header: R1csHeader
    constraints: list[tuple[LinearCombination, LinearCombination, LinearCombination]]


def read_r1cs(data: bytes) -> R1cs:
    """Return the header and decoded constraints of an R1CS file's bytes.

    Coefficients are stored as ``field_size``-byte little-endian integers
    in standard (not Montgomery) form (iden3/r1csfile
    ``doc/r1cs_bin_format.md``).

    Raises:
        R1csFormatError: (``r1cs_malformed``) as :func:`read_r1cs_header`,
            no constraint section, a wire id ``>= wires``, or a coefficient
            ``>= prime``.
    """
    header = read_r1cs_header(data)
    section = _sections(data).get(_CONSTRAINTS_SECTION)
    if section is None:
        raise R1csFormatError("r1cs has no constraint section (type 2)")
    pos = section[0]
    constraints: list[
        tuple[LinearCombination, LinearCombination, LinearCombination]
    ] = []
    for _ in range(header.constraints):
        parts: list[LinearCombination] = []
        for _ in range(3):
            (n_terms,) = _unpack("<I", data, pos, "linear combination")
            pos += 4
            combination: LinearCombination = {}
            for _ in range(n_terms):
                (wire,) = _unpack("<I", data, pos, "wire id")
                coefficient = int.from_bytes(data[pos + 4 : pos + 36], "little")
                pos += 36
                if wire >= header.wires or coefficient >= header.prime:
                    raise R1csFormatError(
                        f"r1cs constraint {len(constraints)} has wire {wire} "
                        f"(of {header.wires}) or a coefficient out of the field"
                    )
                combination[wire] = (combination.get(wire, 0) + coefficient) % (
                    header.prime
                )
            parts.append(combination)
        constraints.append((parts[0], parts[1], parts[2]))
    return R1cs(header=header, constraints=constraints)


def r1cs_unsatisfied(r1cs: R1cs, witness: Sequence[int]) -> list[int]:
    """Return the indices of the constraints ``witness`` violates (empty: it
    satisfies the R1CS).

    ``witness`` is one field element per wire, in wire order, ``witness[0]``
    the constant ``1`` (the ``.wtns`` order).

    Raises:
        WitnessValueError: (``witness_invalid``, also a ``ValueError``)
            ``len(witness) != r1cs.header.wires`` or ``witness[0] != 1``.
    """
    if len(witness) != r1cs.header.wires:
        raise WitnessValueError(
            f"witness has {len(witness)} values, expected one per wire: "
            f"{r1cs.header.wires}"
        )
    if witness[0] != 1:
        raise WitnessValueError(
            f"witness[0] (the constant wire) is {witness[0]}, expected 1"
        )
    prime = r1cs.header.prime

    def evaluate(combination: LinearCombination) -> int:
        return sum(c * witness[w] for w, c in combination.items()) % prime

    return [
        index
        for index, (a, b, c) in enumerate(r1cs.constraints)
        if evaluate(a) * evaluate(b) % prime != evaluate(c)
    ]
