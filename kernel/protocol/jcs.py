"""RFC 8785 (JCS) canonical JSON and the digests built on it.

Every signed or hashed object of the protocol goes through :func:`canonical_json`;
nothing else serialises protocol objects for hashing. Floats are refused: money
and quantities are integers or decimal strings (DESIGN.md).

This is the kernel, the lowest layer: every package imports these names from
here.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from .errors import CanonicalizationError

__all__ = ["canonical_hash", "canonical_json", "sha256_hex"]


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
    _reject_floats(value, "")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"cannot canonicalise: {exc}") from exc


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 digest of ``data`` as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    """Return SHA-256(JCS(value)) as 64 lowercase hex characters.

    Raises:
        CanonicalizationError: as :func:`canonical_json`.
    """
    return sha256_hex(canonical_json(value))
