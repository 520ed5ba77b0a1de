"""The strict reader's shortcuts (skip the depth scan and the tree walk when
no problem can be there) refuse exactly what the full checks refuse, with
the same code and field."""

from __future__ import annotations

import pytest

from kernel.protocol.errors import (
    DuplicateMemberError,
    JsonTooDeepError,
    JsonUnicodeError,
)
from kernel.protocol.strictjson import check_depth, loads


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"a": "x\\ud800"}', "a"),
        ('{"a": ["ok", "x\\uDBFF"]}', "a[1]"),
        ('{"a": "\\uDfFf"}', "a"),
    ],
)
def test_escaped_lone_surrogates_are_found_with_their_field(
    text: str, field: str
) -> None:
    """A lone surrogate written as an escape, in any case, is refused with
    its path."""
    with pytest.raises(JsonUnicodeError) as info:
        loads(text.encode())
    assert info.value.field == field


def test_surrogate_pairs_and_other_escapes_are_accepted() -> None:
    """A valid escaped pair, other ``\\u`` escapes and raw non-ASCII text
    parse (the walk runs or not, the result is the same)."""
    assert loads('{"a": "\\ud83d\\ude00 \\u2014 \\u00e9 \u2014"}'.encode()) == {
        "a": "\U0001f600 \u2014 \u00e9 \u2014"
    }


def test_escaped_lone_surrogate_in_a_member_name_is_refused() -> None:
    """A member name holding an escaped lone surrogate is refused."""
    with pytest.raises(JsonUnicodeError):
        loads(b'{"a": {"\\udc00": 1}}')


def test_raw_surrogate_in_text_input_is_refused() -> None:
    """Text input (not bytes) holding a raw lone surrogate is refused."""
    with pytest.raises(JsonUnicodeError) as info:
        loads('{"k": ["\ud800"]}')
    assert info.value.field == "k[0]"


def test_duplicate_found_among_many_objects() -> None:
    """A repeated member deep among valid objects is refused with its path."""
    text = '{"a": [{"x": 1}, {"y": 2}, {"z": {"q": 1, "q": 2}}], "b": {}}'
    with pytest.raises(DuplicateMemberError) as info:
        loads(text)
    assert info.value.field == "a[2].z.q"


def test_depth_shortcut_keeps_the_limit() -> None:
    """With no more openers than the limit the text passes; one level more
    is refused; brackets inside strings count only towards the shortcut."""
    check_depth("[" * 4 + "]" * 4, max_depth=4)
    with pytest.raises(JsonTooDeepError):
        check_depth("[" * 5 + "]" * 5, max_depth=4)
    check_depth('["[[[[[[", [[1]]]', max_depth=3)
    with pytest.raises(JsonTooDeepError):
        loads("[" * 70 + "]" * 70)
