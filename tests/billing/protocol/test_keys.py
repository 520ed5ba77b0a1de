"""Ed25519 keys, RFC 7638 key IDs and domain-separated signatures (keys.py).

Vectors are RFC 8037 Appendix A (A.1 key, A.3 thumbprint, A.4 JWS signature)
and PEMs written by the ``openssl`` binary.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import nacl.signing
import pytest

from billing.protocol.contexts import CONTEXT_ATTESTATION, CONTEXT_METER_ENVELOPE
from kernel.protocol.ed25519 import (
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
    verify_key_from_jwk,
    verify_object,
)
from kernel.protocol.errors import KeyFormatError, SignatureError

# RFC 8037 Appendix A.1 / A.3 / A.4
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS_SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_JWS_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr"
    "_MuM0KAg"
)

OBJ = {"tenant": "acme", "quantity": 6, "attributes": {"route": "/v1/search"}}


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    """A fresh key pair for this module."""
    return KeyPair.generate()


# -- RFC 8037 vectors ---------------------------------------------------------


def test_rfc8037_a3_thumbprint_is_the_kid() -> None:
    """The JWK thumbprint of the A.1 public key is the published A.3 value."""
    verify_key = verify_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert key_id(verify_key) == RFC8037_THUMBPRINT


def test_rfc8037_a1_private_key_gives_the_published_public_key() -> None:
    """The A.1 seed d derives the A.1 public key x; public_jwk writes it back."""
    seed = b64url_decode(RFC8037_D)
    pair = KeyPair.from_signing_key(nacl.signing.SigningKey(seed))
    assert public_jwk(pair.verify_key) == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
    }
    assert pair.kid == RFC8037_THUMBPRINT
    same = signing_key_from_seed_hex(seed.hex())
    assert bytes(same.verify_key) == b64url_decode(RFC8037_X)


def test_rfc8037_a4_jws_signature_is_reproduced_from_the_seed() -> None:
    """Signing the A.4 JWS signing input with the A.1 seed gives the A.4 signature."""
    key = nacl.signing.SigningKey(b64url_decode(RFC8037_D))
    signature = key.sign(RFC8037_JWS_SIGNING_INPUT).signature
    assert b64url_encode(signature) == RFC8037_JWS_SIGNATURE
    assert b64url_decode(RFC8037_JWS_SIGNING_INPUT.split(b".")[1].decode()) == (
        b"Example of Ed25519 signing"
    )


# -- PEM (RFC 8410) ------------------------------------------------------------

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl binary not installed"
)


@needs_openssl
def test_openssl_generated_pem_loads_with_the_matching_public_key(
    tmp_path: Path,
) -> None:
    """A PEM from `openssl genpkey` loads; its public key is openssl's DER tail."""
    pem_path = tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem_path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(pem_path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    assert len(der) == 44  # RFC 8410 §4 SubjectPublicKeyInfo: 12-byte prefix + 32
    pem = pem_path.read_text()
    key = signing_key_from_pem(pem)
    assert bytes(key.verify_key) == der[-32:]
    # the same key written back is byte-identical to openssl's PEM
    assert signing_key_to_pem(key) == pem


def test_pem_round_trip(pair: KeyPair) -> None:
    """from_pem(to_pem(k)) is the same key; the DER is 48 bytes (RFC 8410 §7)."""
    pem = signing_key_to_pem(pair.signing_key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert bytes(signing_key_from_pem(pem)) == bytes(pair.signing_key)
    body = "".join(pem.strip().splitlines()[1:-1])
    assert len(base64.b64decode(body)) == 48


def test_pem_with_escaped_newlines_loads(pair: KeyPair) -> None:
    """A one-line .env value with literal \\n escapes loads as the same key."""
    pem = signing_key_to_pem(pair.signing_key).replace("\n", "\\n")
    assert bytes(signing_key_from_pem(pem)) == bytes(pair.signing_key)


def _pem(der: bytes, label: str = "PRIVATE KEY") -> str:
    body = base64.b64encode(der).decode()
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


GOOD_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


@pytest.mark.parametrize(
    "pem",
    [
        pytest.param("", id="empty"),
        pytest.param("not a pem", id="text"),
        pytest.param(_pem(GOOD_PREFIX + b"\x01" * 32, "PUBLIC KEY"), id="public-label"),
        pytest.param(_pem(GOOD_PREFIX + b"\x01" * 32, "EC PRIVATE KEY"), id="ec-label"),
        pytest.param(
            # Ed448 OID 1.3.101.113 (RFC 8410 §3), 57-byte key
            _pem(bytes.fromhex("3047020100300506032b6571043b0439") + b"\x01" * 57),
            id="ed448",
        ),
        pytest.param(
            # X25519 OID 1.3.101.110, same length as Ed25519
            _pem(bytes.fromhex("302e020100300506032b656e04220420") + b"\x01" * 32),
            id="x25519-prefix",
        ),
        pytest.param(_pem(b"\x30\x82\x04\xbd" + b"\x00" * 1213), id="rsa-length"),
        pytest.param(_pem(GOOD_PREFIX + b"\x01" * 31), id="short-seed"),
        pytest.param(_pem(GOOD_PREFIX + b"\x01" * 33), id="long-seed"),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI***\n"
            "-----END PRIVATE KEY-----\n",
            id="bad-base64-chars",
        ),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n"
            "-----END PRIVATE KEY-----\n",
            id="bad-base64-padding",
        ),
    ],
)
def test_malformed_pem_raises_key_format_error(pem: str) -> None:
    """Anything but a 48-byte PKCS#8 Ed25519 PEM raises key_format_invalid."""
    with pytest.raises(KeyFormatError) as info:
        signing_key_from_pem(pem)
    assert info.value.code == "key_format_invalid"


@pytest.mark.parametrize("seed", ["", "00" * 31, "00" * 33, "zz" * 32, "0x" + "0" * 62])
def test_malformed_seed_hex_raises_key_format_error(seed: str) -> None:
    """A seed must be exactly 64 hex characters."""
    with pytest.raises(KeyFormatError):
        signing_key_from_seed_hex(seed)


def test_seed_hex_accepts_0x_prefix_and_uppercase(pair: KeyPair) -> None:
    """0x-prefixed and uppercase seeds decode to the same key."""
    seed = bytes(pair.signing_key).hex()
    for text in (seed, seed.upper(), "0x" + seed, f"  {seed}\n"):
        assert bytes(signing_key_from_seed_hex(text)) == bytes(pair.signing_key)


# -- signatures ------------------------------------------------------------------


def test_signed_message_is_context_zero_byte_jcs() -> None:
    """The signed bytes are context || 0x00 || JCS(obj) (DESIGN.md, Keys)."""
    message = signed_message(CONTEXT_METER_ENVELOPE, {"b": 1, "a": "x"})
    assert message == b'meterproof/meter-envelope/v1\x00{"a":"x","b":1}'


def test_sign_verify_round_trip(pair: KeyPair) -> None:
    """A signature verifies under its key, context and object (also reordered)."""
    sig = sign_object(pair.signing_key, CONTEXT_METER_ENVELOPE, OBJ)
    assert len(b64url_decode(sig)) == 64
    verify_object(pair.verify_key, CONTEXT_METER_ENVELOPE, OBJ, sig)
    reordered = dict(reversed(list(OBJ.items())))
    verify_object(pair.verify_key, CONTEXT_METER_ENVELOPE, reordered, sig)


def test_signature_is_independently_verifiable(pair: KeyPair) -> None:
    """Raw PyNaCl verifies our signature over the documented message bytes."""
    sig = sign_object(pair.signing_key, CONTEXT_ATTESTATION, {"q": 1})
    raw = base64.urlsafe_b64decode(sig + "==")
    pair.verify_key.verify(b'meterproof/attestation/v1\x00{"q":1}', raw)


def _assert_signature_error(*args: object) -> None:
    with pytest.raises(SignatureError) as info:
        verify_object(*args)  # type: ignore[arg-type]
    assert info.value.code == "signature_invalid"


def test_other_context_fails(pair: KeyPair) -> None:
    """Domain separation: a meter-envelope signature is not an attestation one."""
    sig = sign_object(pair.signing_key, CONTEXT_METER_ENVELOPE, OBJ)
    _assert_signature_error(pair.verify_key, CONTEXT_ATTESTATION, OBJ, sig)


def test_changed_object_fails(pair: KeyPair) -> None:
    """Changing one value of the object breaks the signature."""
    sig = sign_object(pair.signing_key, CONTEXT_METER_ENVELOPE, OBJ)
    changed = {**OBJ, "quantity": 7}
    _assert_signature_error(pair.verify_key, CONTEXT_METER_ENVELOPE, changed, sig)


def test_another_key_fails(pair: KeyPair) -> None:
    """A signature does not verify under a different key."""
    sig = sign_object(pair.signing_key, CONTEXT_METER_ENVELOPE, OBJ)
    other = KeyPair.generate().verify_key
    _assert_signature_error(other, CONTEXT_METER_ENVELOPE, OBJ, sig)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s[:-4], id="truncated"),
        pytest.param(lambda s: s + "AAAA", id="extended"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: s + "==", id="padded"),
        pytest.param(
            lambda s: s.replace("-", "+").replace("_", "/") + "+", id="std-b64"
        ),
        pytest.param(lambda s: "garbage!", id="garbage"),
        pytest.param(lambda s: b64url_encode(b"\x00" * 64), id="zeros"),
        pytest.param(
            lambda s: b64url_encode(
                bytes([b64url_decode(s)[0] ^ 1]) + b64url_decode(s)[1:]
            ),
            id="bit-flip",
        ),
    ],
)
def test_malformed_or_wrong_signature_fails(pair: KeyPair, mangle: object) -> None:
    """Truncated, extended, re-encoded or flipped signatures raise SignatureError."""
    sig = sign_object(pair.signing_key, CONTEXT_METER_ENVELOPE, OBJ)
    bad = mangle(sig)  # type: ignore[operator]
    _assert_signature_error(pair.verify_key, CONTEXT_METER_ENVELOPE, OBJ, bad)


def test_non_string_signature_fails(pair: KeyPair) -> None:
    """A signature that is not a string is a SignatureError, not a TypeError."""
    _assert_signature_error(pair.verify_key, CONTEXT_METER_ENVELOPE, OBJ, None)


# -- base64url (RFC 4648 §5, no padding) -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"\xfb\xff", "-_8")],
)
def test_b64url_vectors(raw: bytes, text: str) -> None:
    """RFC 4648 §10 vectors, without padding, with the URL-safe alphabet."""
    assert b64url_encode(raw) == text
    assert b64url_decode(text) == raw


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Zg==", id="padding"),
        pytest.param("Zm8=", id="one-pad"),
        pytest.param("Zh", id="non-canonical-bits"),  # 'h' sets bits beyond byte 1
        pytest.param("Zm9", id="non-canonical-bits-2"),
        pytest.param("Z", id="length-mod-4-is-1"),
        pytest.param("+/8", id="standard-alphabet"),
        pytest.param("Zm 9v", id="space"),
        pytest.param("Zm9v\n", id="trailing-newline"),
        pytest.param("Zm9v\x00", id="nul"),
    ],
)
def test_b64url_decode_is_strict(text: str) -> None:
    """Padding, non-alphabet characters and non-canonical trailing bits are refused."""
    with pytest.raises(KeyFormatError) as info:
        b64url_decode(text)
    assert info.value.code == "key_format_invalid"


@pytest.mark.parametrize(
    "jwk",
    [
        None,
        {},
        {"kty": "EC", "crv": "Ed25519", "x": RFC8037_X},
        {"kty": "OKP", "crv": "X25519", "x": RFC8037_X},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-1]},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "="},
    ],
)
def test_malformed_jwk_raises_key_format_error(jwk: object) -> None:
    """Only an OKP Ed25519 JWK with a 32-byte base64url x is accepted."""
    with pytest.raises(KeyFormatError):
        verify_key_from_jwk(jwk)
