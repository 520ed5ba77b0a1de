"""The transparency protocol's error classes for witness state, log requests
and base64: class and stable ``code``; each is still the ``ValueError`` it
replaced."""

from __future__ import annotations

from typing import Any

import pytest

from transparency.protocol.errors import (
    Base64Error,
    LogRequestError,
    MalformedNoteError,
    WitnessStateError,
)
from transparency.protocol.logapi import iter_entries
from transparency.protocol.note import _b64decode_strict
from transparency.protocol.witness import WitnessState


@pytest.mark.parametrize(
    "obj",
    [
        {"tree_size": 1},
        {"tree_size": 1, "root_hash": "zz"},
        {"tree_size": 1, "root_hash": 5},
        {"tree_size": -1, "root_hash": "00" * 32},
        {"tree_size": True, "root_hash": "00" * 32},
        {"tree_size": 1, "root_hash": "00" * 31},
    ],
)
def test_a_bad_witness_state_is_witness_state_error(obj: dict[str, Any]) -> None:
    """WitnessState.from_json refuses every other shape with WitnessStateError."""
    with pytest.raises(WitnessStateError) as info:
        WitnessState.from_json(obj)
    assert info.value.code == "witness_state_invalid"
    assert isinstance(info.value, ValueError)


def test_page_size_below_one_is_log_request_error() -> None:
    """iter_entries with page_size 0 raises LogRequestError before fetching."""

    def fetch(path: str) -> bytes:
        raise AssertionError("no request may be made")

    with pytest.raises(LogRequestError) as info:
        list(iter_entries(fetch, 0, 1, page_size=0))
    assert info.value.code == "log_request_invalid"
    assert info.value.field == "page_size"


@pytest.mark.parametrize("text", ["not base64!", "AQ", "AR=="])
def test_non_canonical_base64_is_base64_error(text: str) -> None:
    """Invalid or non-canonical base64 raises Base64Error, a malformed note."""
    with pytest.raises(Base64Error) as info:
        _b64decode_strict(text)
    assert info.value.code == "base64_invalid"
    assert isinstance(info.value, MalformedNoteError)
    assert isinstance(info.value, ValueError)
