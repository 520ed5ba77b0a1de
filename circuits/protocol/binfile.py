"""The iden3 binary container of circom and snarkjs files (``.r1cs``, ``.wtns``,
``.zkey``, ``.ptau``): one section-table reader for all of them.

Layout, little-endian (iden3/binfileutils ``readBinFile``; the r1cs spec
iden3/r1csfile ``doc/r1cs_bin_format.md``)::

    magic[4] | version u32 | n_sections u32
    section*: type u32 | size u64 | body[size]

Sections may come in any order; a reader uses the first section of each type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from circuits.protocol.errors import BinFileError

__all__ = ["BinFile", "BinFileError", "read_bin_file"]


@dataclass(frozen=True)
class BinFile:
    """A parsed container: its ``version`` and, per section type, the
    ``(offset, size)`` in bytes of the first section of that type."""

    version: int
    sections: dict[int, tuple[int, int]]


def read_bin_file(data: bytes, magic: bytes) -> BinFile:
    """Return the version and section table of ``data``, which must start with
    the 4-byte ``magic`` (``b"r1cs"``, ``b"wtns"``, ``b"zkey"``, ...).

    Raises:
        BinFileError: bad magic, fewer than 12 header bytes, a truncated
            section table, or a section whose size runs past the end.
    """
    if len(data) < 12 or data[:4] != magic:
        raise BinFileError(f"magic is {data[:4]!r}, expected {magic!r}")
    version, n_sections = struct.unpack_from("<II", data, 4)
    offset = 12
    sections: dict[int, tuple[int, int]] = {}
    for _ in range(n_sections):
        if offset + 12 > len(data):
            raise BinFileError(f"truncated section table at byte {offset}")
        kind, size = struct.unpack_from("<IQ", data, offset)
        offset += 12
        if offset + size > len(data):
            raise BinFileError(
                f"section {kind} claims {size} bytes, only {len(data) - offset} remain"
            )
        sections.setdefault(kind, (offset, size))
        offset += size
    return BinFile(version=version, sections=sections)
