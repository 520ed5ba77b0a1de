"""The fast RFC 8785 path of ``canonical_json`` gives exactly the bytes of the
reference ``rfc8785`` serialiser, over the frozen compat corpora and hostile
inputs, and falls back to it (same bytes, same errors) outside its subset."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from kernel.protocol.errors import CanonicalizationError
from kernel.protocol.jcs import _fast_subset, canonical_json
from kernel.protocol.strictjson import loads

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def _reference(value: Any) -> bytes:
    return rfc8785.dumps(value)


def _documents() -> list[Path]:
    return sorted(
        p
        for p in VECTORS.rglob("*.json")
        if p.stat().st_size < 2_000_000 and "groth16" not in p.parts
    )


def _subvalues(value: Any) -> list[Any]:
    """Return ``value`` and every object and array nested in it."""
    found = [value]
    if isinstance(value, dict):
        for item in value.values():
            found += _subvalues(item)
    elif isinstance(value, list):
        for item in value:
            found += _subvalues(item)
    return found


def test_corpus_files_exist() -> None:
    """The compat corpora are there to compare against (a guard against a
    vacuous differential test)."""
    names = [p.name for p in _documents()]
    assert len(names) >= 30
    assert "corpus.json" in names


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_same_bytes_as_rfc8785_over_the_vectors(path: Path) -> None:
    """Every JSON vector of the repository, and every object and array in
    it, canonicalises to the reference bytes."""
    try:
        document = loads(path.read_bytes())
    except Exception:
        pytest.skip("not strict JSON")
    for value in _subvalues(document):
        if isinstance(value, (dict, list)) and _fast_subset(value):
            assert canonical_json(value) == _reference(value)


HOSTILE: list[Any] = [
    {"é": 1, "e": 2, "z": 3, "É": 4},  # non-ASCII keys: fall back
    {"\U0001f600": 1, "\ufb33": 2, "a": 3},  # astral vs BMP key order (UTF-16)
    {"k": "".join(chr(c) for c in range(0x00, 0x80))},  # every ASCII char
    {"k": "\u007f\u0080\u00ff\u2028\u2029\ufeff\ufffd"},
    {"k": "\U0001f600 \U00010000 \U0010ffff"},  # astral values (raw UTF-8)
    {"k": 'quote " backslash \\ slash / tab \t nl \n cr \r bs \b ff \f'},
    {"n": [0, -0, 1, -1, 2**53 - 1, -(2**53) + 1]},
    {"n": 2**53},  # out of range: refused
    {"n": -(2**53)},
    {"n": 10**30},
    {"b": [True, False, None, [], {}, [[]], {"": ""}]},
    {"": {"": {"": []}}},
    {1: "int key"},  # refused by both
    {"t": (1, 2)},  # tuple: reference path
    {"f": 1.5},  # float: refused
    {"s": "lone \ud800 surrogate"},
    {"\ud800": 1},
    ["a", {"b": "c", "a": ["d", {"z": 0, "y": None}]}],
    "plain string",
    12345,
    None,
]


class _Color(enum.IntEnum):
    RED = 1


class _Name(enum.StrEnum):
    ACME = "acme"


HOSTILE += [{"e": _Color.RED}, {"e": _Name.ACME}, {"e": True, "f": False}]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_hostile_values_match_the_reference(value: Any) -> None:
    """Hostile inputs give the reference bytes, or are refused
    (``CanonicalizationError``) where the reference refuses them
    (non-string keys, out-of-range integers, lone surrogates) and where the
    kernel refuses floats."""
    has_float = isinstance(value, dict) and type(value.get("f")) is float
    try:
        want: bytes | None = _reference(value)
    except Exception:
        want = None
    if want is None or has_float:
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == want


def test_fast_subset_excludes_what_the_encoder_would_print_differently() -> None:
    """Values the standard library would serialise unlike RFC 8785 are kept
    out of the fast path: non-ASCII keys, subclasses, tuples, floats,
    out-of-range integers, non-string keys."""
    assert _fast_subset({"a": [1, "é", True, None, {"b": -5}]})
    for value in (
        {"é": 1},
        {"e": _Color.RED},
        {"e": _Name.ACME},
        {"t": (1,)},
        {"f": 1.0},
        {"n": 2**53},
        {"n": -(2**53)},
        {1: 1},
        {"a": {"b": [{"c": 0.5}]}},
    ):
        assert not _fast_subset(value), value


def test_escapes_every_code_point_below_0x800_like_the_reference() -> None:
    """Every code point below U+0800 (all escapes, all one- and two-byte
    UTF-8 forms) and a sample above serialise alike as values."""
    for start in range(0, 0x800, 64):
        text = "".join(chr(c) for c in range(start, start + 64))
        assert canonical_json({"k": text, "l": [text]}) == _reference(
            {"k": text, "l": [text]}
        )
    sample = "".join(
        chr(c) for c in range(0x800, 0x10000, 97) if not 0xD800 <= c < 0xE000
    )
    assert canonical_json({"k": sample}) == _reference({"k": sample})


def test_bundle_round_trip_matches() -> None:
    """A bundle-shaped document read back from JSON text canonicalises to
    the reference bytes (the verifier's hot path)."""
    doc = {
        "attestation": {
            "format": "vdi-billing/3",
            "sequence": {"period": "2026-11", "number": 9007199254740991},
            "meter_event": {"attributes": {"route": "/v1/é", "bytes": 5120}},
        },
        "log": {"checkpoint": "origin\n12\nabc=\n\n\u2014 origin sig\n"},
    }
    again = json.loads(json.dumps(doc))
    assert canonical_json(again) == _reference(again)
