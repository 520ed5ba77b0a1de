"""RFC 8785 (JCS) canonical JSON and the digests built on it (re-export).

The implementation lives in the lowest layer, :mod:`transparency.protocol.jcs`,
so that ``revocation.protocol`` can use it without importing ``billing``. This
module re-exports the same names for billing callers; see that module for shapes
and errors (``CanonicalizationError`` on floats and non-JSON values).
"""

from __future__ import annotations

from transparency.protocol.jcs import canonical_hash, canonical_json, sha256_hex

__all__ = ["canonical_hash", "canonical_json", "sha256_hex"]
