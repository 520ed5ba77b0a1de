"""The first check of every profile: ``bundle_format`` (docs/PROTOCOL.md §4.1,
§5.1).

When it fails, no other check runs and the report lists that one check only.
"""

from __future__ import annotations

from typing import Any, Final

from ..bundle import Bundle

__all__ = ["BUNDLE_FORMAT", "bundle_format"]

#: Name of the parsing check that precedes every profile's checks.
BUNDLE_FORMAT: Final = "bundle_format"


def bundle_format(bundle_json: Any) -> Bundle:
    """Return the parsed ``vdi-billing/2`` or ``vdi-billing/3`` bundle.

    Args:
        bundle_json: parsed JSON, or the bundle file's bytes (read by the
            strict I-JSON reader, so a duplicate member or over-deep nesting
            fails with ``duplicate_member`` / ``json_too_deep``).

    Raises:
        BundleFormatError: (``bundle_format_invalid``) a malformed bundle.
        JsonInputError: the bytes are not strict I-JSON.
    """
    if isinstance(bundle_json, (bytes, bytearray)):
        return Bundle.from_bytes(bundle_json)
    return Bundle.from_json(bundle_json)
