"""RFC 8785 (JCS) canonical JSON (canonical.py).

Expected strings are copied from RFC 8785: §3.2.3 (property sorting by UTF-16
code units), §3.2.4 / Appendix A example (string escapes, literals) and
Appendix B (integers that are exactly representable IEEE-754 doubles).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from kernel.protocol.errors import CanonicalizationError
from kernel.protocol.jcs import canonical_hash, canonical_json, sha256_hex

# RFC 8785 §3.2.3, input (JSON text) and the sorted output order.
RFC8785_SORTING_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC8785_SORTED_VALUES = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]

# RFC 8785 §3.2.2 example without the "numbers" member (floats are refused).
RFC8785_STRING_INPUT = r"""{
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC8785_STRING_OUTPUT = (
    r"""{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"""
)


def test_rfc8785_property_sorting_uses_utf16_code_units() -> None:
    """Keys sort by UTF-16 code units: U+1F600 (D83D...) precedes U+FB33."""
    out = canonical_json(json.loads(RFC8785_SORTING_INPUT)).decode("utf-8")
    values = [v for _, v in json.loads(out, object_pairs_hook=list)]
    assert values == RFC8785_SORTED_VALUES
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face",'
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert out == expected


def test_rfc8785_string_escapes_and_literals() -> None:
    """Only ", \\, and controls are escaped; \\u000f stays lowercase hex; / is raw."""
    out = canonical_json(json.loads(RFC8785_STRING_INPUT))
    assert out == RFC8785_STRING_OUTPUT.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-0, "0"),
        (1, "1"),
        (-1, "-1"),
        (9007199254740991, "9007199254740991"),  # Appendix B 0x433fffffffffffff
        (-9007199254740991, "-9007199254740991"),  # Appendix B 0xc33fffffffffffff
        (10**15, "1000000000000000"),
    ],
)
def test_integers_serialise_as_plain_decimals(value: int, text: str) -> None:
    """Integers in the I-JSON range print without exponent, sign or padding."""
    assert canonical_json(value) == text.encode()
    assert canonical_json([value]) == f"[{text}]".encode()


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64, 10**30])
def test_integers_beyond_ijson_range_are_refused(value: int) -> None:
    """|n| > 2**53 - 1 cannot be encoded exactly: canonicalization_error."""
    with pytest.raises(CanonicalizationError) as info:
        canonical_json({"n": value})
    assert info.value.code == "canonicalization_error"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"amount": 1.5}, "amount"),
        ({"charge": {"amount_minor": 100.0}}, "charge.amount_minor"),
        ({"tiers": [{"up_to": 5}, {"up_to": 1e3}]}, "tiers[1].up_to"),
        ([0, [1, float("nan")]], "[1][1]"),
        ({"x": float("inf")}, "x"),
        (0.0, None),
    ],
)
def test_floats_are_refused_with_their_path(value: object, field: str | None) -> None:
    """Any float, even integral, NaN or infinity, raises with the field path."""
    with pytest.raises(CanonicalizationError) as info:
        canonical_json(value)
    assert info.value.code == "canonicalization_error"
    assert info.value.field == field


@pytest.mark.parametrize("value", [{1: "x"}, {"a": b"bytes"}, {"a": {1, 2}}, object()])
def test_non_json_values_are_refused(value: object) -> None:
    """Non-string keys and non-JSON types raise CanonicalizationError."""
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


def test_canonical_form_ignores_input_order_and_whitespace() -> None:
    """Two spellings of one object have the same bytes and hash."""
    a = json.loads('{ "b" : [1, 2], "a" : {"y": null, "x": true} }')
    b = json.loads('{"a":{"x":true,"y":null},"b":[1,2]}')
    assert (
        canonical_json(a) == canonical_json(b) == b'{"a":{"x":true,"y":null},"b":[1,2]}'
    )
    assert canonical_hash(a) == canonical_hash(b)


def test_canonical_hash_is_sha256_lowercase_hex() -> None:
    """canonical_hash is SHA-256 over the JCS bytes, 64 lowercase hex characters."""
    assert canonical_hash({}) == hashlib.sha256(b"{}").hexdigest()
    # FIPS 180-2 "abc" vector
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
