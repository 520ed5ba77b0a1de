"""C2SP signed notes (https://github.com/C2SP/C2SP/blob/main/signed-note.md).

Names and semantics follow Go's ``golang.org/x/mod/sumdb/note``. A signed
note is the note text (UTF-8, ending in ``"\\n"``), one blank line, then one
line per signature::

    — <key name> base64(key ID[4] || signature)\\n

with U+2014 EM DASH. A key ID is the first 4 bytes of
``SHA-256(name || 0x0A || signature type || public key)``.

Supported signature types:

* ``0x01`` Ed25519 over the note text (C2SP signed-note).
* ``0x04`` Ed25519 cosignature (C2SP tlog-cosignature): the signature is
  ``timestamp (uint64 big-endian, unix seconds) || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || note text``.

Key strings: a verifier key (vkey) is ``name+hexkeyid+base64(type || 32-byte
public key)``; a signer key (skey) is ``PRIVATE+KEY+name+hexkeyid+base64(type
|| 32-byte Ed25519 seed)``; base64 is standard with padding and may itself
contain ``+``. Ed25519 comes from PyNaCl. This module imports no Django.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from kernel.protocol.shape import require_integer
from transparency.protocol.errors import (
    Base64Error,
    InvalidSignatureError,
    MalformedNoteError,
    UnknownVerifierError,
    VerifierKeyError,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "MAX_SIGNATURES",
    "CosignatureSigner",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "cosignature_message",
    "cosignature_timestamp",
    "generate_key",
    "key_id",
    "open_note",
    "parse_verifier_key",
    "sign_cosignature",
    "sign_note",
]

ED25519_TYPE = 0x01
"""Signature type byte of an Ed25519 note signature (C2SP signed-note)."""

COSIGNATURE_TYPE = 0x04
"""Signature type of an Ed25519 ``cosignature/v1`` (C2SP tlog-cosignature)."""

MAX_SIGNATURES = 100
"""Most signature lines :func:`open_note` accepts (Go's limit; C2SP: >= 16)."""

KEY_ID_SIZE = 4
ED25519_SIZE = 32
ED25519_SIG_SIZE = 64
TIMESTAMP_SIZE = 8

_SIG_PREFIX = "\u2014 "  # EM DASH, space
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")
_MAX_UINT64 = (1 << 64) - 1


def _is_valid_name(name: str) -> bool:
    """Key names are non-empty, without whitespace or ``+`` (signed-note)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _b64decode_strict(value: str) -> bytes:
    """Decode standard base64 with padding; reject anything non-canonical.

    Raises:
        Base64Error: (``base64_invalid``, also a ``ValueError``).
    """
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise Base64Error(f"expected standard base64 with padding: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise Base64Error(
            "base64 is not in canonical form: expected "
            f"{base64.b64encode(raw).decode('ascii')[:80]!r}"
        )
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """Return the 4-byte C2SP signed-note key ID.

    ``SHA-256(name || 0x0A || key_type || public_key)[:4]``.

    Args:
        name: the key name (UTF-8).
        key_type: signature type byte, 0x01 (Ed25519) or 0x04 (cosignature).
        public_key: the 32-byte Ed25519 public key.
    """
    data = name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key
    return hashlib.sha256(data).digest()[:KEY_ID_SIZE]


def cosignature_message(text: str, timestamp: int) -> bytes:
    """Return the bytes a C2SP tlog-cosignature ``cosignature/v1`` signs.

    ``"cosignature/v1\\ntime <timestamp>\\n" || text`` where ``timestamp`` is
    decimal unix seconds and ``text`` is the checkpoint body (note text).

    Raises:
        MalformedNoteError: if ``timestamp`` is not in ``0 .. 2**64 - 1``.
    """
    _check_timestamp(timestamp)
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode("utf-8")


def _check_timestamp(timestamp: int) -> None:
    require_integer(
        timestamp,
        error=MalformedNoteError,
        maximum=_MAX_UINT64,
        message="timestamp must be an int, found {type}",
        range_message="timestamp {value} is out of range, expected 0 .. 2**64 - 1",
    )


def cosignature_timestamp(signature: bytes | str) -> int:
    """Return the unix-seconds timestamp carried in a tlog-cosignature.

    Args:
        signature: the decoded signature line payload ``key ID[4] ||
            timestamp[8] || Ed25519 signature[64]`` (76 bytes), or its
            standard base64 text.

    Raises:
        MalformedNoteError: if the payload is not 76 bytes (a plain 0x01 note
            signature is 68 bytes) or not valid base64.
    """
    if isinstance(signature, str):
        try:
            signature = _b64decode_strict(signature)
        except ValueError as exc:
            raise MalformedNoteError(f"cosignature is not base64: {exc}") from None
    expected = KEY_ID_SIZE + TIMESTAMP_SIZE + ED25519_SIG_SIZE
    if len(signature) != expected:
        raise MalformedNoteError(
            f"cosignature has {len(signature)} bytes, expected {expected} "
            f"(key ID 4 + timestamp 8 + Ed25519 signature 64)"
        )
    (timestamp,) = struct.unpack(">Q", signature[KEY_ID_SIZE : KEY_ID_SIZE + 8])
    return int(timestamp)


def _check_text(text: str) -> None:
    """Note text: non-empty, ends in newline, no control characters but LF."""
    if not isinstance(text, str):
        raise MalformedNoteError(f"note text must be str, found {type(text).__name__}")
    if not text or not text.endswith("\n"):
        raise MalformedNoteError("note text must be non-empty and end with a newline")
    for ch in text:
        if ch < " " and ch != "\n":
            raise MalformedNoteError(
                f"note text contains control character U+{ord(ch):04X}"
            )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("note text is not valid UTF-8") from None


@dataclass(frozen=True)
class NoteVerifier:
    """A parsed C2SP verifier key (Ed25519 0x01 or cosignature 0x04).

    Attributes:
        name: key name (no whitespace, no ``+``).
        key_id: 4-byte key ID.
        key_type: signature type byte, :data:`ED25519_TYPE` or
            :data:`COSIGNATURE_TYPE`.
        public_key: 32-byte Ed25519 public key.
    """

    name: str
    key_id: bytes
    key_type: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a vkey ``name+hexkeyid+base64(type || key)`` (signed-note).

        Raises:
            VerifierKeyError: on a wrong number of parts, bad name, hex or
                base64, unknown signature type, wrong key length, or a key ID
                that does not match the name and key.
        """
        if not isinstance(vkey, str):
            raise VerifierKeyError(
                f"verifier key must be str, found {type(vkey).__name__}"
            )
        # Split on the first two '+' only: the base64 part may contain '+'.
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise VerifierKeyError(
                f"verifier key has {len(parts)} '+'-separated parts, expected 3 "
                "(name+hexkeyid+base64key)"
            )
        name, hex_id, key64 = parts
        return cls._from_parts(name, hex_id, key64, private=False)

    @classmethod
    def _from_parts(
        cls, name: str, hex_id: str, key64: str, *, private: bool
    ) -> NoteVerifier:
        what = "signer key" if private else "verifier key"
        if not _is_valid_name(name):
            raise VerifierKeyError(
                f"{what}: name {name!r} is empty or has space or '+'"
            )
        if not _HEX_ID.fullmatch(hex_id):
            raise VerifierKeyError(
                f"{what}: key ID {hex_id!r} is not 8 hexadecimal digits"
            )
        try:
            key = _b64decode_strict(key64)
        except ValueError as exc:
            raise VerifierKeyError(f"{what}: key is not base64: {exc}") from None
        if not key:
            raise VerifierKeyError(f"{what}: key is empty")
        key_type, material = key[0], key[1:]
        if key_type not in (ED25519_TYPE, COSIGNATURE_TYPE):
            raise VerifierKeyError(
                f"{what} has signature type 0x{key_type:02x}, "
                "expected 0x01 (Ed25519) or 0x04 (cosignature)"
            )
        if len(material) != ED25519_SIZE:
            raise VerifierKeyError(
                f"{what} has {len(material)} key bytes, expected {ED25519_SIZE}"
            )
        if private:
            public = bytes(nacl.signing.SigningKey(material).verify_key)
        else:
            public = material
        derived = key_id(name, key_type, public)
        if derived != bytes.fromhex(hex_id):
            raise VerifierKeyError(
                f"{what}: key ID {hex_id.lower()} does not match the key, "
                f"expected {derived.hex()}"
            )
        return cls(name=name, key_id=derived, key_type=key_type, public_key=public)

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hexkeyid+base64(type || key)``."""
        raw = bytes([self.key_type]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Return whether ``signature`` (no key ID) is valid over ``text``.

        For type 0x01 ``signature`` is the 64-byte Ed25519 signature over the
        UTF-8 note text; for type 0x04 it is ``timestamp[8] || signature[64]``
        over :func:`cosignature_message`. Never raises on a bad signature.
        """
        message = text.encode("utf-8")
        if self.key_type == COSIGNATURE_TYPE:
            if len(signature) != TIMESTAMP_SIZE + ED25519_SIG_SIZE:
                return False
            (timestamp,) = struct.unpack(">Q", signature[:TIMESTAMP_SIZE])
            message = cosignature_message(text, int(timestamp))
            signature = signature[TIMESTAMP_SIZE:]
        if len(signature) != ED25519_SIG_SIZE:
            return False
        try:
            nacl.signing.VerifyKey(self.public_key).verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True


def parse_verifier_key(vkey: str) -> NoteVerifier:
    """Return the :class:`NoteVerifier` for a vkey string (C2SP signed-note).

    Raises:
        VerifierKeyError: see :meth:`NoteVerifier.from_vkey`.
    """
    return NoteVerifier.from_vkey(vkey)


class NoteSigner:
    """An Ed25519 note signer (signature type 0x01, C2SP signed-note).

    Attributes:
        name: key name (no whitespace, no ``+``).
        signing_key: the PyNaCl Ed25519 signing key.
        key_id: 4-byte key ID.
    """

    key_type = ED25519_TYPE

    def __init__(self, name: str, signing_key: nacl.signing.SigningKey) -> None:
        """Create a signer for ``name``.

        Raises:
            VerifierKeyError: if ``name`` is empty or contains space or ``+``.
        """
        if not isinstance(name, str) or not _is_valid_name(name):
            raise VerifierKeyError(f"key name {name!r} is empty or has space/'+'")
        self.name = name
        self.signing_key = signing_key
        self.public_key = bytes(signing_key.verify_key)
        self.key_id = key_id(name, self.key_type, self.public_key)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+name+hexkeyid+base64(type || 32-byte seed)``.

        The key's type byte must match the class (0x01 for :class:`NoteSigner`,
        0x04 for :class:`CosignatureSigner`).

        Raises:
            VerifierKeyError: on a malformed string, wrong type byte or seed
                length, or a key ID that does not match the derived public key.
        """
        if not isinstance(skey, str):
            raise VerifierKeyError(
                f"signer key must be str, found {type(skey).__name__}"
            )
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise VerifierKeyError(
                "signer key must have the form PRIVATE+KEY+name+hexkeyid+base64"
            )
        _, _, name, hex_id, key64 = parts
        parsed = NoteVerifier._from_parts(name, hex_id, key64, private=True)
        if parsed.key_type != cls.key_type:
            raise VerifierKeyError(
                f"signer key has signature type 0x{parsed.key_type:02x}, "
                f"expected 0x{cls.key_type:02x} for {cls.__name__}"
            )
        seed = _b64decode_strict(key64)[1:]
        return cls(name, nacl.signing.SigningKey(seed))

    def verifier_key(self) -> str:
        """Return the vkey ``name+hexkeyid+base64(type || public key)``."""
        raw = bytes([self.key_type]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    def signer_key(self) -> str:
        """Return the skey ``PRIVATE+KEY+name+hexkeyid+base64(type || seed)``.

        The result is a secret: never log it.
        """
        raw = bytes([self.key_type]) + bytes(self.signing_key)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    def verifier(self) -> NoteVerifier:
        """Return the matching :class:`NoteVerifier`."""
        return NoteVerifier(
            name=self.name,
            key_id=self.key_id,
            key_type=self.key_type,
            public_key=self.public_key,
        )

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature over ``message``."""
        return bytes(self.signing_key.sign(message).signature)

    def __repr__(self) -> str:
        """Show name and key ID, never the seed."""
        return f"{type(self).__name__}(name={self.name!r}, key_id={self.key_id.hex()})"


class CosignatureSigner(NoteSigner):
    """An Ed25519 cosigner (signature type 0x04, C2SP tlog-cosignature)."""

    key_type = COSIGNATURE_TYPE


def generate_key(name: str, key_type: int = ED25519_TYPE) -> tuple[str, str]:
    """Return a fresh ``(skey, vkey)`` pair of key strings for ``name``.

    Args:
        name: key name (no whitespace, no ``+``).
        key_type: 0x01 for a note signer (default) or 0x04 for a cosigner.

    Raises:
        VerifierKeyError: on an invalid name or unknown ``key_type``.
    """
    cls: type[NoteSigner]
    if key_type == ED25519_TYPE:
        cls = NoteSigner
    elif key_type == COSIGNATURE_TYPE:
        cls = CosignatureSigner
    else:
        raise VerifierKeyError(
            f"key_type 0x{key_type:02x} is not supported, expected 0x01 or 0x04"
        )
    signer = cls(name, nacl.signing.SigningKey.generate())
    return signer.signer_key(), signer.verifier_key()


def _as_signer(signer: NoteSigner | str) -> NoteSigner:
    if isinstance(signer, NoteSigner):
        return signer
    if isinstance(signer, str):
        return NoteSigner.from_skey(signer)
    raise VerifierKeyError(
        f"signer must be a NoteSigner or skey string, found {type(signer).__name__}"
    )


def _signature_line(name: str, payload: bytes) -> str:
    return f"{_SIG_PREFIX}{name} {_b64encode(payload)}\n"


def sign_note(
    text: str, signer: NoteSigner | str, *more_signers: NoteSigner | str
) -> str:
    """Return the signed note: ``text``, a blank line, one signature line each.

    Each line is ``"— name base64(key ID[4] || Ed25519 signature[64])\\n"``
    (U+2014 EM DASH), C2SP signed-note.

    Args:
        text: note text; non-empty, ends in ``"\\n"``, valid UTF-8 without
            control characters other than newline.
        signer: a :class:`NoteSigner` or its skey string.
        more_signers: further signers, in output order.

    Raises:
        MalformedNoteError: if ``text`` breaks the rules above.
        VerifierKeyError: if an skey string is malformed, or a signer is a
            cosigner (use :func:`sign_cosignature`).
    """
    _check_text(text)
    lines = []
    for item in (signer, *more_signers):
        s = _as_signer(item)
        if s.key_type != ED25519_TYPE:
            raise VerifierKeyError(
                f"signer {s.name} has type 0x{s.key_type:02x}; "
                "use sign_cosignature for cosignatures"
            )
        lines.append(_signature_line(s.name, s.key_id + s.sign(text.encode("utf-8"))))
    return text + "\n" + "".join(lines)


def sign_cosignature(
    checkpoint_text: str, signer: CosignatureSigner | str, timestamp: int
) -> str:
    """Return one C2SP tlog-cosignature line for a checkpoint.

    ``"— name base64(key ID[4] || timestamp[8, big-endian] || sig[64])\\n"``;
    the Ed25519 signature covers :func:`cosignature_message`. Append the
    line to the log's signed note to publish the cosignature.

    Args:
        checkpoint_text: the checkpoint body (note text, ends in newline).
        signer: a :class:`CosignatureSigner` or its 0x04 skey string.
        timestamp: unix seconds at which the cosigner verified the checkpoint.

    Raises:
        MalformedNoteError: bad text or timestamp.
        VerifierKeyError: malformed skey or a signer that is not type 0x04.
    """
    _check_text(checkpoint_text)
    _check_timestamp(timestamp)
    s = CosignatureSigner.from_skey(signer) if isinstance(signer, str) else signer
    if not isinstance(s, NoteSigner) or s.key_type != COSIGNATURE_TYPE:
        raise VerifierKeyError("sign_cosignature needs a 0x04 CosignatureSigner")
    sig = s.sign(cosignature_message(checkpoint_text, timestamp))
    return _signature_line(s.name, s.key_id + struct.pack(">Q", timestamp) + sig)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note.

    Attributes:
        name: key name.
        key_id: 4-byte key ID.
        signature: signature bytes after the key ID (64 bytes for 0x01,
            timestamp[8] || 64 bytes for a 0x04 cosignature).
        key_type: signature type of the verifying key, or ``None`` when the
            signature is unverified (key unknown).
        timestamp: unix seconds of a verified cosignature, else ``None``.
    """

    name: str
    key_id: bytes
    signature: bytes
    key_type: int | None = None
    timestamp: int | None = None

    @property
    def base64(self) -> str:
        """Standard base64 of ``key_id || signature`` as on the line."""
        return _b64encode(self.key_id + self.signature)


@dataclass(frozen=True)
class Note:
    """A note opened by :func:`open_note`.

    Attributes:
        text: the note text, ending in ``"\\n"`` (without the blank line).
        sigs: signatures that verified, in note order.
        unverified_sigs: signatures by keys not in the verifier set.
    """

    text: str
    sigs: tuple[NoteSignature, ...]
    unverified_sigs: tuple[NoteSignature, ...] = ()


def _build_verifier_map(
    verifier_keys: Iterable[str | NoteVerifier],
) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    if isinstance(verifier_keys, str):
        raise VerifierKeyError("verifier_keys must be an iterable of vkeys, not a str")
    for item in verifier_keys:
        v = item if isinstance(item, NoteVerifier) else NoteVerifier.from_vkey(item)
        prev = known.get((v.name, v.key_id))
        if prev is not None and prev != v:
            raise VerifierKeyError(
                f"two different verifier keys share name {v.name} "
                f"and key ID {v.key_id.hex()}"
            )
        known[(v.name, v.key_id)] = v
    return known


def open_note(text: str | bytes, verifier_keys: Iterable[str | NoteVerifier]) -> Note:
    """Parse a signed note and verify its signatures against known keys.

    Follows Go's ``note.Open``: the note must be UTF-8 without control
    characters other than newline, end with a signature block after the last
    blank line, and every signature line must be
    ``"— name base64(key ID || sig)\\n"``. Signatures by unknown keys are
    returned as ``unverified_sigs``; a repeated signature by the same key is
    ignored; 0x04 vkeys verify tlog-cosignatures.

    Args:
        text: the signed note (``str``, or ``bytes`` to be decoded as UTF-8).
        verifier_keys: trusted vkey strings (or parsed :class:`NoteVerifier`).

    Returns:
        The :class:`Note` with its text and signatures.

    Raises:
        MalformedNoteError: malformed note or signature line, or more than
            :data:`MAX_SIGNATURES` signature lines.
        VerifierKeyError: a malformed or ambiguous verifier key.
        InvalidSignatureError: a signature by a known key does not verify.
        UnknownVerifierError: no signature is by a known key.
    """
    known = _build_verifier_map(verifier_keys)
    if isinstance(text, bytes | bytearray):
        try:
            msg = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("signed note is not valid UTF-8") from None
    elif isinstance(text, str):
        msg = text
    else:
        raise MalformedNoteError(
            f"signed note must be str, found {type(text).__name__}"
        )
    for ch in msg:
        if ch < " " and ch != "\n":
            raise MalformedNoteError(
                f"signed note contains control character U+{ord(ch):04X}"
            )
    try:
        msg.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("signed note is not valid UTF-8") from None

    split = msg.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("signed note has no blank line before signatures")
    note_text, sig_block = msg[: split + 1], msg[split + 2 :]
    if not sig_block or not sig_block.endswith("\n"):
        raise MalformedNoteError(
            "signed note must end with signature lines, each ending in a newline"
        )

    sigs: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    seen_unverified: set[str] = set()
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"signed note has {len(lines)} signatures, at most {MAX_SIGNATURES} allowed"
        )
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(
                f"signature line {number} does not start with '\u2014 '"
            )
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            raw = _b64decode_strict(b64) if sep and b64 else b""
        except ValueError:
            raw = b""
        if not _is_valid_name(name) or len(raw) <= KEY_ID_SIZE:
            raise MalformedNoteError(
                f"signature line {number} is not '\u2014 name base64(keyid||sig)'"
            )
        kid, signature = raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]
        verifier = known.get((name, kid))
        if verifier is None:
            if line not in seen_unverified:
                seen_unverified.add(line)
                unverified.append(NoteSignature(name, kid, signature))
            continue
        if (name, kid) in seen:
            continue
        seen.add((name, kid))
        if not verifier.verify(note_text, signature):
            raise InvalidSignatureError(
                f"invalid signature for key {name}+{kid.hex()}",
                field=f"sigs[{number - 1}]",
            )
        timestamp = None
        if verifier.key_type == COSIGNATURE_TYPE:
            (timestamp,) = struct.unpack(">Q", signature[:TIMESTAMP_SIZE])
        sigs.append(NoteSignature(name, kid, signature, verifier.key_type, timestamp))
    if not sigs:
        raise UnknownVerifierError(
            f"note has no verifiable signatures: {len(unverified)} signature(s), "
            f"none by the {len(known)} known key(s)"
        )
    return Note(text=note_text, sigs=tuple(sigs), unverified_sigs=tuple(unverified))
