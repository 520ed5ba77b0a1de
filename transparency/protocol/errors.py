"""Error hierarchy of the Django-free protocol packages.

Every error raised by a ``protocol`` package derives from :class:`ProtocolError`
(this module is the lowest layer; ``billing.protocol``, ``circuits.protocol`` and
``revocation.protocol`` import it, never the other way round). Each class carries
a stable snake_case ``code`` that the HTTP layer maps to a status in
``config/exception_handler.py`` and that the offline CLI prints in its report.
"""

from __future__ import annotations

from .text import safe_text

#: Longest message / field an error keeps (characters); longer ones are cut.
MAX_MESSAGE_CHARS = 2000
MAX_FIELD_CHARS = 200


class ProtocolError(Exception):
    """Root of all protocol errors.

    Attributes:
        code: stable snake_case identifier, documented and never renamed.
        message: human sentence saying what was expected and what was found.
        field: dotted path of the offending input field, or ``None``.

    ``message`` and ``field`` may quote hostile input: control characters and
    lone surrogates are escaped and long text is cut
    (:func:`~transparency.protocol.text.safe_text`), so every error encodes as
    UTF-8 and can be stored.
    """

    code = "protocol_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        message = safe_text(str(message), MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.message = message
        self.field = None if field is None else safe_text(field, MAX_FIELD_CHARS)

    def as_dict(self) -> dict[str, str | None]:
        """Return ``{"code", "message", "field"}`` for JSON error bodies."""
        return {"code": self.code, "message": self.message, "field": self.field}


class MerkleError(ProtocolError):
    """Malformed Merkle input (hash not 32 bytes, index out of range)."""

    code = "merkle_error"


class InclusionProofError(ProtocolError):
    """An RFC 9162 §2.1.3 inclusion proof does not verify."""

    code = "inclusion_proof_invalid"


class ConsistencyProofError(ProtocolError):
    """An RFC 9162 §2.1.4 consistency proof does not verify."""

    code = "consistency_proof_invalid"


class NoteError(ProtocolError):
    """A C2SP signed note is malformed or its signatures do not verify."""

    code = "note_invalid"


class MalformedNoteError(NoteError):
    """The note text or a signature line is not well formed (C2SP signed-note)."""

    code = "note_malformed"


class UnknownVerifierError(NoteError):
    """No signature on the note is by a known verifier key."""

    code = "note_unknown_key"


class InvalidSignatureError(NoteError):
    """A signature by a known key does not verify over the note text."""

    code = "note_bad_signature"


class VerifierKeyError(NoteError):
    """A verifier or signer key string is malformed (``name+hex+base64``)."""

    code = "note_key_invalid"


class CheckpointError(ProtocolError):
    """A C2SP tlog-checkpoint body is malformed."""

    code = "checkpoint_invalid"


class CanonicalizationError(ProtocolError):
    """A value cannot be canonicalised with RFC 8785 (JCS), e.g. a float or NaN.

    Raised by :mod:`transparency.protocol.jcs`; ``billing.protocol.errors``
    re-exports this very class under the same name.
    """

    code = "canonicalization_error"


class KeyFormatError(ProtocolError):
    """A key (PEM, hex seed, JWK, base64url) is malformed or not Ed25519.

    Raised by :mod:`transparency.protocol.ed25519`; re-exported by
    ``billing.protocol.errors``.
    """

    code = "key_format_invalid"


class SignatureError(ProtocolError):
    """A domain-separated Ed25519 signature does not verify, or is malformed.

    Raised by :func:`transparency.protocol.ed25519.verify_object`; re-exported
    by ``billing.protocol.errors`` (whose ``UnknownKeyError`` subclasses it).
    C2SP signed notes use the separate :class:`NoteError` family.
    """

    code = "signature_invalid"


class FetchError(ProtocolError):
    """An injected fetcher could not get a log resource (network, HTTP status).

    Fetchers given to :mod:`transparency.protocol.witness` and
    :mod:`transparency.protocol.monitor` raise this; any other exception from a
    fetcher is a bug and propagates.
    """

    code = "fetch_failed"


class LogResponseError(ProtocolError):
    """A log API response is not the documented JSON shape (docs/PROTOCOL.md)."""

    code = "log_response_invalid"


class WitnessError(ProtocolError):
    """Root of the reasons a witness refuses to cosign (C2SP tlog-witness)."""

    code = "witness_error"


class WitnessBadSignature(WitnessError):
    """The checkpoint note is malformed or not signed by the log's key."""

    code = "witness_bad_signature"


class WitnessOriginMismatch(WitnessError):
    """The checkpoint's origin line is not the origin the witness follows."""

    code = "witness_origin_mismatch"


class WitnessRollback(WitnessError):
    """The checkpoint is smaller than the last one the witness cosigned."""

    code = "witness_rollback"


class WitnessInconsistent(WitnessError):
    """The checkpoint is not an append-only extension of the last one (a fork):
    same size with another root, or a consistency proof that fails."""

    code = "witness_inconsistent"


class WitnessFetchFailed(WitnessError):
    """The log could not be reached or answered with a malformed response."""

    code = "witness_fetch_failed"


class JsonInputError(ProtocolError):
    """A JSON text is not accepted by the strict reader (RFC 8259 syntax, or
    a number literal ``NaN``/``Infinity``, or trailing data).

    Raised by :mod:`transparency.protocol.strictjson`, the one reader used at
    every boundary (API bodies, bundles, trust anchors, snapshots, tariffs,
    manifests, CLI input). ``field`` is the JSON path when known.
    """

    code = "malformed_json"


class DuplicateMemberError(JsonInputError):
    """An object has two members with the same name (RFC 7493 §2.3, I-JSON);
    ``field`` is the path of the repeated member."""

    code = "duplicate_member"


class JsonTooDeepError(JsonInputError):
    """Arrays and objects nest deeper than the reader's limit
    (``strictjson.MAX_DEPTH``, 64 levels)."""

    code = "json_too_deep"


class JsonUnicodeError(JsonInputError):
    """The text is not UTF-8, or a string holds a lone surrogate escape
    (RFC 7493 §2.1)."""

    code = "invalid_unicode"


class TileError(ProtocolError):
    """A C2SP tlog-tiles resource cannot be encoded or parsed."""

    code = "tile_invalid"


class EntryTooLargeError(TileError):
    """A log entry is longer than an entry bundle can carry (65,535 bytes).

    C2SP tlog-tiles prefixes each entry of a bundle with a big-endian uint16
    length, so no entry may exceed ``0xFFFF`` bytes.
    """

    code = "entry_too_large"
