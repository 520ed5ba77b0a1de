"""Ed25519 keys, RFC 7638 key IDs and domain-separated signatures (PyNaCl).

Every signature of the protocol is over ``context || 0x00 || JCS(object)``: an
ASCII context string naming what is signed (``meterproof/meter-envelope/v1``), one
zero byte, then the RFC 8785 canonical JSON bytes (DESIGN.md, "Keys"). Signatures
and public keys travel as base64url without padding (RFC 4648 §5), like JWS.

This is the kernel, shared by every package: the context strings themselves
belong to the package that signs the object (``billing.protocol.contexts``
holds the billing ones, ``revocation.protocol.snapshot`` the revocation one).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing

from .errors import KeyFormatError, SignatureError
from .jcs import canonical_json, sha256_hex

__all__ = [
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

# RFC 8410 §7: an Ed25519 private key in PKCS#8 is this fixed 16-byte DER prefix
# followed by the 32-byte seed (OneAsymmetricKey v1, no attributes, no public key).
_PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
# RFC 7468 §10 label; kept apart from the armour so that no source line looks
# like an embedded key to secret scanners.
_PEM_LABEL = "PRIVATE" + " KEY"
_PEM_BEGIN = f"-----BEGIN {_PEM_LABEL}-----"
_PEM_END = f"-----END {_PEM_LABEL}-----"
_PEM_RE = re.compile(
    re.escape(_PEM_BEGIN) + r"\s*(?P<body>[A-Za-z0-9+/=\s]+?)\s*" + re.escape(_PEM_END)
)
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """Return base64url without padding (RFC 4648 §5, RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, field: str | None = None) -> bytes:
    """Decode base64url without padding.

    Raises:
        KeyFormatError: on characters outside the alphabet, padding, or a length
            that is not a valid base64 length.
    """
    if not isinstance(text, str) or not _B64URL_RE.match(text) or len(text) % 4 == 1:
        raise KeyFormatError("expected base64url without padding", field=field)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"invalid base64url: {exc}", field=field) from exc
    if b64url_encode(raw) != text:  # non-canonical trailing bits
        raise KeyFormatError("non-canonical base64url encoding", field=field)
    return raw


def signing_key_from_seed_hex(seed_hex: str) -> nacl.signing.SigningKey:
    """Return an Ed25519 signing key from a 64-hex-character (32-byte) seed.

    Raises:
        KeyFormatError: if ``seed_hex`` is not exactly 64 hex characters.
    """
    text = seed_hex.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise KeyFormatError("expected a 32-byte Ed25519 seed as 64 hex characters")
    return nacl.signing.SigningKey(bytes.fromhex(text))


def signing_key_from_pem(pem: str) -> nacl.signing.SigningKey:
    """Return an Ed25519 signing key from a PKCS#8 PEM (RFC 8410 §7).

    Accepts the PKCS#8 ``PRIVATE KEY`` PEM (RFC 7468 §10) written by
    ``openssl genpkey -algorithm ed25519`` and by ``manage.py billing_keys``.
    Literal ``\\n`` escapes (as in one-line ``.env`` values) are accepted.

    Raises:
        KeyFormatError: if the PEM is malformed or not an Ed25519 key.
    """
    text = pem.replace("\\n", "\n")
    match = _PEM_RE.search(text)
    if not match:
        raise KeyFormatError("expected a PEM 'PRIVATE KEY' block (PKCS#8 Ed25519)")
    try:
        der = base64.b64decode("".join(match.group("body").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"PEM body is not base64: {exc}") from exc
    if len(der) != 48 or not der.startswith(_PKCS8_ED25519_PREFIX):
        raise KeyFormatError(
            f"PKCS#8 key is {len(der)} bytes with an unexpected prefix; expected a "
            "48-byte Ed25519 key (RFC 8410 §7)"
        )
    return nacl.signing.SigningKey(der[16:])


def signing_key_to_pem(key: nacl.signing.SigningKey) -> str:
    """Return the PKCS#8 PEM (RFC 8410 §7) of an Ed25519 signing key."""
    body = base64.b64encode(_PKCS8_ED25519_PREFIX + bytes(key)).decode("ascii")
    return f"{_PEM_BEGIN}\n{body}\n{_PEM_END}\n"


def public_jwk(verify_key: nacl.signing.VerifyKey) -> dict[str, str]:
    """Return the OKP JWK of an Ed25519 public key (RFC 8037 §2)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes(verify_key))}


def verify_key_from_jwk(
    jwk: Any, *, field: str | None = None
) -> nacl.signing.VerifyKey:
    """Return the Ed25519 verify key of an OKP JWK (RFC 8037 §2).

    Raises:
        KeyFormatError: if ``jwk`` is not ``{"kty": "OKP", "crv": "Ed25519",
            "x": <32 bytes base64url>}`` or ``x`` is not a valid public key
            (:func:`verify_key_from_bytes`).
    """
    if (
        not isinstance(jwk, dict)
        or jwk.get("kty") != "OKP"
        or jwk.get("crv") != "Ed25519"
    ):
        raise KeyFormatError("expected an OKP Ed25519 JWK", field=field)
    raw = b64url_decode(jwk.get("x", ""), field=f"{field}.x" if field else "x")
    return verify_key_from_bytes(raw, field=field)


def verify_key_from_bytes(
    raw: bytes, *, field: str | None = None
) -> nacl.signing.VerifyKey:
    """Return the Ed25519 verify key of a 32-byte public key encoding.

    The encoding must be a canonical point of prime order (libsodium's
    ``crypto_core_ed25519_is_valid_point``): small-order points (the all-zero
    key, the identity), non-canonical encodings (y >= p) and points outside
    the prime-order subgroup are refused, since no honestly generated key is
    one and a signature check against them proves nothing (RFC 8032 §5.1.3;
    "Taming the many EdDSAs", Chalkias et al. 2020).

    Raises:
        KeyFormatError: not 32 bytes, or not such a point.
    """
    if len(raw) != 32:
        raise KeyFormatError(
            f"Ed25519 public key is {len(raw)} bytes, expected 32", field=field
        )
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise KeyFormatError(
            "Ed25519 public key is a small-order, non-canonical or invalid "
            "point, expected a canonical point of prime order",
            field=field,
        )
    return nacl.signing.VerifyKey(raw)


def key_id(verify_key: nacl.signing.VerifyKey) -> str:
    """Return the RFC 7638 JWK thumbprint of an Ed25519 key (base64url, 43 chars).

    The thumbprint is SHA-256 over the required members ``crv``, ``kty``, ``x`` in
    lexicographic order without whitespace (RFC 7638 §3.2, RFC 8037 §2), which is
    exactly their RFC 8785 canonical form.
    """
    digest = bytes.fromhex(sha256_hex(canonical_json(public_jwk(verify_key))))
    return b64url_encode(digest)


def signed_message(context: str, obj: Any) -> bytes:
    """Return ``context || 0x00 || JCS(obj)``, the exact bytes that are signed.

    Raises:
        CanonicalizationError: if ``obj`` is not canonicalisable.
    """
    return context.encode("ascii") + b"\x00" + canonical_json(obj)


def sign_object(key: nacl.signing.SigningKey, context: str, obj: Any) -> str:
    """Return the base64url Ed25519 signature (64 bytes) of ``obj`` under ``context``."""
    return b64url_encode(key.sign(signed_message(context, obj)).signature)


def verify_object(
    verify_key: nacl.signing.VerifyKey,
    context: str,
    obj: Any,
    signature: str,
    *,
    field: str | None = None,
) -> None:
    """Check an Ed25519 signature made by :func:`sign_object`.

    Raises:
        SignatureError: if the signature is malformed or does not verify.
    """
    try:
        raw = b64url_decode(signature, field=field)
    except KeyFormatError as exc:
        raise SignatureError(
            f"signature is not base64url: {exc.message}", field=field
        ) from exc
    if len(raw) != 64:
        raise SignatureError(f"signature is {len(raw)} bytes, expected 64", field=field)
    try:
        verify_key.verify(signed_message(context, obj), raw)
    except nacl.exceptions.BadSignatureError as exc:
        raise SignatureError(
            f"{context} signature does not verify", field=field
        ) from exc


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 signing key with its RFC 7638 ``kid``."""

    signing_key: nacl.signing.SigningKey
    kid: str

    @classmethod
    def from_signing_key(cls, key: nacl.signing.SigningKey) -> KeyPair:
        """Wrap ``key``, computing its RFC 7638 thumbprint."""
        return cls(signing_key=key, kid=key_id(key.verify_key))

    @classmethod
    def generate(cls) -> KeyPair:
        """Return a fresh random key pair (for tests and ``billing_keys``)."""
        return cls.from_signing_key(nacl.signing.SigningKey.generate())

    @property
    def verify_key(self) -> nacl.signing.VerifyKey:
        """The public half."""
        return self.signing_key.verify_key
