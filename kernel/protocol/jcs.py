"""RFC 8785 (JCS) canonical JSON and the digests built on it.

Every signed or hashed object of the protocol goes through :func:`canonical_json`;
nothing else serialises protocol objects for hashing. Floats are refused: money
and quantities are integers or decimal strings (DESIGN.md).

Speed: the reference serialiser (``rfc8785``, pure Python) costs most of a
bundle's verification. For the values where the standard library's C encoder
provably emits the same bytes, :func:`canonical_json` uses it instead
(:func:`_fast_subset` says when); everything else still goes through
``rfc8785``. The two paths agree because, on that subset:

* objects: every key is an ASCII ``str``, so Python's code-point order is
  RFC 8785 §3.2.3's UTF-16 code-unit order (they differ only for
  characters above U+FFFF, whose UTF-16 form is a surrogate pair);
* strings (``str`` exactly): ``json.dumps(ensure_ascii=False)`` escapes
  exactly ``"``, ``\\`` and U+0000..U+001F, with ``\\b \\t \\n \\f \\r``
  short forms and lowercase ``\\u00xx`` otherwise, as RFC 8785 §3.2.2.2;
  a lone surrogate makes the UTF-8 encoding fail and the value falls back;
* numbers: ``int`` exactly (``bool`` separately), within the I-JSON range,
  printed in decimal as ECMAScript's ``Number.toString`` prints them;
* no floats, no subclasses (enums), no tuples, no other types.

``tests/kernel/protocol/test_jcs_fast.py`` checks the equality against
``rfc8785`` over the compat corpora and hostile inputs.

This is the kernel, the lowest layer: every package imports these names from
here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import rfc8785

from .errors import CanonicalizationError

__all__ = ["canonical_hash", "canonical_json", "exact_key", "sha256_hex"]


#: The I-JSON integer range (RFC 7493 §2.2), as ``rfc8785`` enforces it.
_INT_MAX: Final = 2**53 - 1
_INT_MIN: Final = -(2**53) + 1
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def _fast_subset(value: Any) -> bool:
    """Return True iff ``value`` is in the subset where the standard
    library's encoder emits RFC 8785 bytes (see the module docstring):
    dicts with ASCII ``str`` keys, lists, ``str``, ``int`` in the I-JSON
    range, ``bool`` and ``None``, all of exactly these types."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if item > _INT_MAX or item < _INT_MIN:
                return False
        elif kind is dict:
            for key, member in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                push(member)
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def _reject_floats(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise CanonicalizationError(
            f"float {value!r} at {path or '$'}: protocol numbers must be integers "
            "or decimal strings",
            field=path or None,
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_floats(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _reject_floats(item, f"{path}[{index}]")


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Args:
        value: JSON-compatible data (dict, list, str, int, bool, None). Integers
            must lie within the I-JSON range (|n| <= 2**53 - 1, RFC 7493 §2.2).

    Raises:
        CanonicalizationError: on floats, non-string keys, out-of-range
            integers or any other value JCS cannot encode.
    """
    if _fast_subset(value):
        try:
            return _ENCODE(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 reports it
    _reject_floats(value, "")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"cannot canonicalise: {exc}") from exc


def exact_key(value: Any) -> bytes | None:
    """Return a cache key that identifies ``value`` exactly, or ``None``.

    The key is ``value``'s JCS bytes when ``value`` lies in the fast subset
    (exact ``dict``/``list``/``str``/``int``/``bool``/``None``, ASCII keys,
    I-JSON integers), where JCS is injective: two values with the same key
    are equal and of the same types, so a pure function of ``value`` may be
    cached under it. Outside the subset (tuples, subclasses, floats, ...)
    there is no key and the caller computes afresh.
    """
    if not _fast_subset(value):
        return None
    try:
        return _ENCODE(value).encode("utf-8")
    except UnicodeEncodeError:
        return None


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 digest of ``data`` as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    """Return SHA-256(JCS(value)) as 64 lowercase hex characters.

    Raises:
        CanonicalizationError: as :func:`canonical_json`.
    """
    return sha256_hex(canonical_json(value))
