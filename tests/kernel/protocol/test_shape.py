"""The one set of JSON shape checks raises the caller's class, code and
message (kernel.protocol.shape)."""

from __future__ import annotations

import pytest

from billing.protocol.errors import TariffError
from kernel.protocol import shape
from revocation.protocol.errors import RevocationFeedMalformedError


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None, [1]])
def test_require_integer_refuses_non_integers_with_the_callers_class(
    value: object,
) -> None:
    """A boolean is not an integer; the caller's class, code and field come back."""
    with pytest.raises(RevocationFeedMalformedError) as info:
        shape.require_integer(
            value,
            error=RevocationFeedMalformedError,
            field="sequence",
            message="{field} must be an integer, found {type}",
        )
    assert info.value.code == "revocation_feed_malformed"
    assert info.value.field == "sequence"
    assert (
        info.value.message
        == f"sequence must be an integer, found {type(value).__name__}"
    )


def test_require_integer_range_message_names_the_bounds() -> None:
    """Out of range uses ``range_message`` with ``{minimum}`` and ``{maximum}``."""
    with pytest.raises(TariffError) as info:
        shape.require_integer(
            11,
            error=TariffError,
            field="version",
            minimum=1,
            maximum=10,
            message="unused",
            range_message="{field} must be between {minimum} and {maximum}, found {value}",
        )
    assert info.value.code == "tariff_invalid"
    assert info.value.message == "version must be between 1 and 10, found 11"
    assert shape.require_integer(10, error=TariffError, message="x", maximum=10) == 10


def test_caller_text_with_braces_is_not_a_placeholder() -> None:
    """Caller text goes in params, so a brace in it is printed as is."""
    with pytest.raises(TariffError) as info:
        shape.require_integer(
            -1, error=TariffError, message="GET {path}: negative", path="/x?{a}"
        )
    assert info.value.message == "GET /x?{a}: negative"


def test_require_hex_lowercase_and_length() -> None:
    """64 lowercase hex characters pass; uppercase passes only when allowed."""
    digest = "ab" * 32
    assert shape.require_hex(digest, error=TariffError, message="m") == digest
    assert shape.is_hex(digest) and not shape.is_hex(digest.upper())
    assert shape.is_hex(digest.upper(), lowercase=False)
    with pytest.raises(TariffError) as info:
        shape.require_hex(
            digest.upper(),
            error=TariffError,
            field="h",
            message="{field} must be {length} lowercase hex characters",
        )
    assert info.value.message == "h must be 64 lowercase hex characters"
    with pytest.raises(TariffError) as info:
        shape.require_hex(
            "zz" * 32,
            error=TariffError,
            lowercase=False,
            message="length",
            digits_message="{value!r:.4} is not hex",
        )
    assert info.value.message == "'zzz is not hex"


def test_require_object_exact_members_in_order() -> None:
    """Unknown members are reported before missing ones, by path."""
    keys = ("a", "b")
    assert shape.require_object({"a": 1, "b": 2}, keys, error=TariffError) == {
        "a": 1,
        "b": 2,
    }
    with pytest.raises(TariffError) as info:
        shape.require_object({"c": 1}, keys, error=TariffError, path="p")
    assert (info.value.field, info.value.message) == (
        "p.c",
        "p has unknown key 'c'; expected exactly a, b",
    )
    with pytest.raises(TariffError) as info:
        shape.require_object({"a": 1}, keys, error=TariffError, path="p")
    assert info.value.field == "p.b"
    with pytest.raises(TariffError) as info:
        shape.require_object([], keys, error=TariffError, what="tariff")
    assert info.value.message == "tariff must be a JSON object, found array"
    assert info.value.field is None


def test_require_instance_refuses_bool_for_int() -> None:
    """``True`` is not an ``int`` member; ``{expected}`` names the type."""
    with pytest.raises(TariffError) as info:
        shape.require_instance(
            True, int, error=TariffError, message="{type}, expected {expected}"
        )
    assert info.value.message == "bool, expected int"
