"""The strict JSON reader (``kernel.protocol.strictjson``): I-JSON
(RFC 7493) with a nesting limit checked before the recursive decoder runs."""

from __future__ import annotations

import sys

import pytest

from kernel.protocol.errors import (
    DuplicateMemberError,
    JsonInputError,
    JsonTooDeepError,
    JsonUnicodeError,
    ProtocolError,
)
from kernel.protocol.strictjson import MAX_DEPTH, loads


def test_reads_plain_json_from_bytes_and_text() -> None:
    """Ordinary JSON parses the same from UTF-8 bytes and from text."""
    text = '{"a": [1, "é", true, null, {"b": "x"}], "c": -2}'
    assert (
        loads(text.encode())
        == loads(text)
        == {
            "a": [1, "é", True, None, {"b": "x"}],
            "c": -2,
        }
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"amount_minor": 1, "amount_minor": 999999}', "amount_minor"),
        ('{"a": {"tenant": "x", "tenant": "y"}}', "a.tenant"),
        ('{"a": [0, {"k": 1, "k": 1}]}', "a[1].k"),
        ('[{"ok": 1}, {"x": [], "x": []}]', "[1].x"),
    ],
)
def test_duplicate_member_names_are_refused_at_any_depth(text: str, field: str) -> None:
    """Regression (audit 6): a repeated name is refused, even with equal values."""
    with pytest.raises(DuplicateMemberError) as info:
        loads(text)
    assert (info.value.code, info.value.field) == ("duplicate_member", field)


def test_nesting_deeper_than_the_limit_is_refused_before_parsing() -> None:
    """Regression (audit 12): ~990 levels give a stable error, never a
    RecursionError, even with the recursion limit raised as py_ecc does."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        for text in ("[" * 990 + "]" * 990, '{"a":' * 990 + "1" + "}" * 990):
            with pytest.raises(JsonTooDeepError) as info:
                loads(text)
            assert info.value.code == "json_too_deep"
        with pytest.raises(JsonTooDeepError):
            loads("[" * 200_000)
    finally:
        sys.setrecursionlimit(limit)


def test_depth_limit_is_inclusive_and_ignores_brackets_in_strings() -> None:
    """MAX_DEPTH levels parse; one more is refused; brackets in strings and
    escaped quotes do not count."""
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JsonTooDeepError):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads('["[[[[\\"[[[[", "{{{{"]', max_depth=1) == ['[[[["[[[[', "{{{{"]


@pytest.mark.parametrize(
    "data",
    [b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', '{"a": "\\ud800"}', '["\\udc00x"]'],
)
def test_invalid_utf8_and_lone_surrogates_are_refused(data: bytes | str) -> None:
    """RFC 7493 §2.1: text is UTF-8 and strings hold no lone surrogate."""
    with pytest.raises(JsonUnicodeError) as info:
        loads(data)
    assert info.value.code == "invalid_unicode"


def test_lone_surrogate_in_a_member_name_is_refused() -> None:
    """Member names are strings too."""
    with pytest.raises(JsonUnicodeError) as info:
        loads('{"ok": {"\\ud800": 1}}')
    assert info.value.field is not None and info.value.field.startswith("ok.")


def test_a_surrogate_pair_is_a_character() -> None:
    """An escaped surrogate pair decodes to one astral character."""
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        '{"a": Infinity}',
        "[-Infinity]",
        "{",
        '{"a": 1} x',
        "",
        "\ufeff{}",
        "1" * 5000,
    ],
)
def test_non_json_is_malformed(text: str) -> None:
    """NaN/Infinity, syntax errors, a BOM and unreadable numbers are refused."""
    with pytest.raises(JsonInputError) as info:
        loads(text)
    assert info.value.code == "malformed_json"
    assert isinstance(info.value, ProtocolError)


def test_log_responses_are_read_strictly() -> None:
    """Regression (audit 6): a log answer naming ``tree_size`` twice is a
    ``log_response_invalid`` naming the member, not last-wins."""
    from transparency.protocol.errors import LogResponseError
    from transparency.protocol.logapi import fetch_head

    def fetch(path: str) -> bytes:
        return b'{"tree_size": 1, "tree_size": 9, "root_hash": "00"}'

    with pytest.raises(LogResponseError) as info:
        fetch_head(fetch)
    assert (info.value.code, info.value.field) == ("log_response_invalid", "tree_size")
