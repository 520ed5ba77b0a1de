"""The circuits protocol's error classes for files and witnesses: class and
stable ``code``; each is still the ``ValueError`` it replaced."""

from __future__ import annotations

import pytest

from circuits.protocol.binfile import read_bin_file
from circuits.protocol.errors import BinFileError, WitnessFileError, WitnessValueError
from circuits.protocol.poseidon import SNARK_SCALAR_FIELD
from circuits.protocol.witness import read_wtns, wtns_bytes


def test_bad_magic_is_binfile_error() -> None:
    """A container with the wrong magic raises BinFileError."""
    with pytest.raises(BinFileError) as info:
        read_bin_file(b"zkey" + bytes(8), b"wtns")
    assert info.value.code == "binfile_malformed"
    assert isinstance(info.value, ValueError)


def test_not_a_wtns_file_is_witness_file_error() -> None:
    """Garbage bytes and a wrong version raise WitnessFileError."""
    with pytest.raises(WitnessFileError) as info:
        read_wtns(b"not a witness file")
    assert info.value.code == "wtns_malformed"
    good = wtns_bytes([1, 2, 3], SNARK_SCALAR_FIELD)
    bad_version = good[:4] + (3).to_bytes(4, "little") + good[8:]
    with pytest.raises(WitnessFileError, match="version is 3, expected 2"):
        read_wtns(bad_version)


@pytest.mark.parametrize("witness", [[1, SNARK_SCALAR_FIELD], [1, -1], [1, "2"]])
def test_a_value_outside_the_field_is_witness_value_error(
    witness: list[object],
) -> None:
    """wtns_bytes refuses a value outside [0, prime) with WitnessValueError."""
    with pytest.raises(WitnessValueError) as info:
        wtns_bytes(witness, SNARK_SCALAR_FIELD)  # type: ignore[arg-type]
    assert info.value.code == "witness_invalid"
    assert isinstance(info.value, ValueError)


def test_a_prime_wider_than_n8_is_witness_value_error() -> None:
    """A prime that does not fit n8 bytes raises WitnessValueError."""
    with pytest.raises(WitnessValueError, match="expected > 1 and at most 64"):
        wtns_bytes([1], SNARK_SCALAR_FIELD, n8=8)
