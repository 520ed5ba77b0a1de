"""The snarkjs Groth16 ``.zkey`` header: its counts, read from the file's bytes.

The prover compares them with the shipped r1cs before it trusts a zkey
(:func:`circuits.prover.fit.check_fit`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from circuits.protocol.binfile import BinFileError, read_bin_file
from circuits.protocol.errors import ZkeyMismatchError

__all__ = ["ZkeyHeader", "read_zkey_header"]

#: Section 1's protocol number for Groth16.
_ZKEY_GROTH16 = 1


@dataclass(frozen=True)
class ZkeyHeader:
    """Counts from a snarkjs Groth16 ``.zkey`` header (section 2).

    ``n_vars`` counts every wire (constant ``one`` included); ``n_public``
    is outputs + public inputs; ``domain_size`` is the FFT domain (a power
    of two, ``>= constraints + n_public + 1``).
    """

    q: int
    r: int
    n_vars: int
    n_public: int
    domain_size: int


def read_zkey_header(data: bytes) -> ZkeyHeader:
    """Return the :class:`ZkeyHeader` of a snarkjs ``.zkey`` file's bytes.

    Layout (little-endian; snarkjs ``src/zkey_utils.js`` ``readHeader``):
    magic ``"zkey"``, version u32, n_sections u32, then sections ``type u32 |
    size u64 | body``; section 1 holds the protocol (u32, 1 = Groth16);
    section 2 holds ``n8q u32 | q | n8r u32 | r | nVars u32 | nPublic u32 |
    domainSize u32 | points...``.

    Raises:
        ZkeyMismatchError: (``groth16_zkey_mismatch``) not a zkey, not
            Groth16, or truncated.
    """

    def fail(why: str) -> ZkeyMismatchError:
        return ZkeyMismatchError(f"zkey is malformed: {why}", field="zkey")

    try:
        sections = read_bin_file(data, b"zkey").sections
    except BinFileError as exc:
        raise fail(str(exc)) from None
    if 1 not in sections or 2 not in sections:
        raise fail("missing header sections 1 and 2")
    start, size = sections[1]
    if size < 4 or struct.unpack_from("<I", data, start)[0] != _ZKEY_GROTH16:
        raise fail("protocol is not Groth16")
    start, size = sections[2]
    try:
        (n8q,) = struct.unpack_from("<I", data, start)
        q = int.from_bytes(data[start + 4 : start + 4 + n8q], "little")
        pos = start + 4 + n8q
        (n8r,) = struct.unpack_from("<I", data, pos)
        r = int.from_bytes(data[pos + 4 : pos + 4 + n8r], "little")
        pos += 4 + n8r
        n_vars, n_public, domain_size = struct.unpack_from("<III", data, pos)
    except struct.error as exc:
        raise fail(f"truncated Groth16 header ({exc})") from None
    return ZkeyHeader(
        q=q, r=r, n_vars=n_vars, n_public=n_public, domain_size=domain_size
    )
