"""Ed25519 keys, RFC 7638 key IDs and domain-separated signatures (PyNaCl).

Every signature of the protocol is over ``context || 0x00 || JCS(object)``: an
ASCII context string naming what is signed (``meterproof/meter-envelope/v1``), one
zero byte, then the RFC 8785 canonical JSON bytes (DESIGN.md, "Keys"). Signatures
and public keys travel as base64url without padding (RFC 4648 §5), like JWS.

The generic primitives live in the lowest layer,
:mod:`transparency.protocol.ed25519` (shared with ``revocation.protocol``), and are
re-exported here unchanged; this module adds the billing context strings.
"""

from __future__ import annotations

from transparency.protocol.ed25519 import (
    KeyPair,
    b64url_decode,
    b64url_encode,
    key_id,
    public_jwk,
    sign_object,
    signed_message,
    signing_key_from_pem,
    signing_key_from_seed_hex,
    signing_key_to_pem,
    verify_key_from_bytes,
    verify_key_from_jwk,
    verify_object,
)

#: Context strings, one per signed object type (domain separation).
CONTEXT_METER_ENVELOPE = "meterproof/meter-envelope/v1"
CONTEXT_ATTESTATION = "meterproof/attestation/v1"
CONTEXT_TRUST_ANCHORS = "meterproof/trust-anchors/v1"

__all__ = [
    "CONTEXT_ATTESTATION",
    "CONTEXT_METER_ENVELOPE",
    "CONTEXT_TRUST_ANCHORS",
    "KeyPair",
    "b64url_decode",
    "b64url_encode",
    "key_id",
    "public_jwk",
    "sign_object",
    "signed_message",
    "signing_key_from_pem",
    "signing_key_from_seed_hex",
    "signing_key_to_pem",
    "verify_key_from_bytes",
    "verify_key_from_jwk",
    "verify_object",
]
