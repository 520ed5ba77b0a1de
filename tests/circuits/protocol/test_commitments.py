"""circuits.protocol.commitments: digest halves and the billing public signal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from circuits.protocol.commitments import (
    BINDING_VERSION,
    billing_public_signal,
    digest_to_field_pair,
    field_pair_to_digest,
)
from circuits.protocol.errors import CommitmentError, PoseidonError
from circuits.protocol.poseidon import SNARK_SCALAR_FIELD

VECTORS_FILE = (
    Path(__file__).resolve().parents[1] / "vectors" / "poseidon_circomlibjs.json"
)

DIGESTS = [
    hashlib.sha256(label).hexdigest()
    for label in (b"", b"meter", b"tariff", b"charge", b"fingerprint")
] + ["0" * 64, "f" * 64, "00" * 16 + "ff" * 16, "ff" * 16 + "00" * 16]


@pytest.mark.parametrize("hex_digest", DIGESTS)
def test_digest_split_round_trip(hex_digest: str) -> None:
    """high << 128 | low == int(digest, 16), halves < 2**128 < p, and back."""
    high, low = digest_to_field_pair(hex_digest)
    assert high << 128 | low == int(hex_digest, 16)
    assert 0 <= high < 2**128 < SNARK_SCALAR_FIELD
    assert 0 <= low < 2**128
    assert high == int.from_bytes(bytes.fromhex(hex_digest)[:16], "big")
    assert field_pair_to_digest(high, low) == hex_digest


@pytest.mark.parametrize(
    "bad",
    [
        "A" * 64,  # uppercase
        "0" * 63,
        "0" * 65,
        "g" * 64,
        "0x" + "0" * 62,
        " " + "0" * 63,
        "0" * 64 + "\n",
        "",
        b"0" * 64,
        None,
        int("1" * 64, 16),
    ],
)
def test_bad_digest_raises_commitment_error(bad: Any) -> None:
    """Anything but 64 lowercase hex chars raises commitment_digest_invalid."""
    with pytest.raises(CommitmentError) as info:
        digest_to_field_pair(bad)
    assert info.value.code == "commitment_digest_invalid"
    assert info.value.field == "hex_digest"


@pytest.mark.parametrize(("high", "low"), [(-1, 0), (0, 2**128), (True, 0), (0, 1.5)])
def test_bad_half_raises_commitment_error(high: Any, low: Any) -> None:
    """Halves outside [0, 2**128) or not ints are rejected."""
    with pytest.raises(CommitmentError) as info:
        field_pair_to_digest(high, low)
    assert info.value.code == "commitment_digest_invalid"


def test_binding_version() -> None:
    """The binding is named bn128-poseidon8-v1 (DESIGN.md)."""
    assert BINDING_VERSION == "bn128-poseidon8-v1"


def test_billing_public_signal_matches_circomlibjs() -> None:
    """The public signal is circomlibjs Poseidon(8) of the commitments."""
    vectors = json.loads(VECTORS_FILE.read_text("utf-8"))["vectors"]
    eights = [v for v in vectors if len(v["inputs"]) == 8]
    assert len(eights) >= 40
    for vector in eights:
        commitments = [int(x) for x in vector["inputs"]]
        assert billing_public_signal(commitments) == int(vector["output"])


def test_billing_public_signal_of_digest_halves() -> None:
    """Four digests split into eight halves hash to one field element."""
    commitments = [h for d in DIGESTS[1:5] for h in digest_to_field_pair(d)]
    signal = billing_public_signal(commitments)
    assert 0 <= signal < SNARK_SCALAR_FIELD
    assert billing_public_signal(tuple(commitments)) == signal
    swapped = commitments[1:2] + commitments[0:1] + commitments[2:]
    assert billing_public_signal(swapped) != signal


@pytest.mark.parametrize("count", [0, 1, 2, 7, 9, 16])
def test_billing_public_signal_wrong_count(count: int) -> None:
    """Anything but exactly 8 commitments raises poseidon_input_invalid."""
    with pytest.raises(PoseidonError) as info:
        billing_public_signal(list(range(count)))
    assert info.value.code == "poseidon_input_invalid"
    assert info.value.field == "commitments"


def test_billing_public_signal_rejects_non_field_elements() -> None:
    """An element >= p or a bool is rejected by the Poseidon input check."""
    with pytest.raises(PoseidonError) as info:
        billing_public_signal([0] * 7 + [SNARK_SCALAR_FIELD])
    assert info.value.field == "inputs[7]"
    with pytest.raises(PoseidonError):
        billing_public_signal([True] + [0] * 7)
    with pytest.raises(PoseidonError):
        billing_public_signal("01234567")  # type: ignore[arg-type]
