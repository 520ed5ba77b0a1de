"""The iden3 binary container reader shared by the r1cs, wtns and zkey parsers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from circuits.protocol.binfile import BinFileError, read_bin_file

ARTIFACTS = Path(__file__).resolve().parents[3] / "circuits" / "apiBillingV2"


def _container(
    magic: bytes, sections: list[tuple[int, bytes]], version: int = 1
) -> bytes:
    body = b"".join(
        struct.pack("<IQ", kind, len(data)) + data for kind, data in sections
    )
    return magic + struct.pack("<II", version, len(sections)) + body


def test_sections_are_located_first_of_each_type_wins() -> None:
    data = _container(b"wtns", [(1, b"abcd"), (2, b"xy"), (1, b"zz")], version=2)
    parsed = read_bin_file(data, b"wtns")
    assert parsed.version == 2
    assert parsed.sections == {1: (24, 4), 2: (40, 2)}
    start, size = parsed.sections[2]
    assert data[start : start + size] == b"xy"


def test_shipped_r1cs_has_header_and_constraint_sections() -> None:
    data = (ARTIFACTS / "apiBillingV2.r1cs").read_bytes()
    parsed = read_bin_file(data, b"r1cs")
    assert parsed.version == 1
    assert {1, 2} <= parsed.sections.keys()
    # the sections tile the file after the 12-byte preamble
    assert max(o + s for o, s in parsed.sections.values()) <= len(data)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"r1cs", "magic"),
        (_container(b"zkey", [(1, b"abcd")]), "magic"),
        (_container(b"r1cs", [(1, b"abcd")])[:-2], "claims"),
        (_container(b"r1cs", [(1, b"abcd")])[:12] + b"\x01\x00", "truncated"),
    ],
    ids=["short", "wrong-magic", "overrun", "truncated-table"],
)
def test_malformed_containers_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(BinFileError, match=why):
        read_bin_file(data, b"r1cs")
