"""Errors of the transparency-log protocol (``transparency.protocol``).

Every class derives from :class:`kernel.protocol.errors.ProtocolError` (the
project's root, :class:`kernel.protocol.errors.MeterproofError`, lives in the
kernel, the lowest layer). Each carries a stable snake_case ``code`` that the
HTTP layer maps to a status in ``config/exception_handler.py`` and that the
offline CLI prints in its report. The generic errors every package raises
(canonical JSON, keys and signatures, strict JSON input) are in
:mod:`kernel.protocol.errors`.
"""

from __future__ import annotations

from kernel.protocol.errors import ProtocolError


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


class TileError(ProtocolError):
    """A C2SP tlog-tiles resource cannot be encoded or parsed."""

    code = "tile_invalid"


class EntryTooLargeError(TileError):
    """A log entry is longer than an entry bundle can carry (65,535 bytes).

    C2SP tlog-tiles prefixes each entry of a bundle with a big-endian uint16
    length, so no entry may exceed ``0xFFFF`` bytes.
    """

    code = "entry_too_large"


class Base64Error(MalformedNoteError, ValueError):
    """A signed-note field is not canonical standard base64 with padding
    (C2SP signed-note: keys and signatures are base64 of exact bytes).

    Raised by the note codec; its callers wrap it in
    :class:`MalformedNoteError` or :class:`VerifierKeyError` with context.
    Also a ``ValueError``, as before.
    """

    code = "base64_invalid"


class LogRequestError(ProtocolError, ValueError):
    """A log client was called with an impossible request (e.g. a page size
    below 1): a caller bug, not a bad log answer. Also a ``ValueError``, as
    before."""

    code = "log_request_invalid"


class WitnessStateError(WitnessError, ValueError):
    """A witness's stored state is not ``{tree_size, root_hash}`` with a
    non-negative integer size and a 32-byte (64 hex) root. Also a
    ``ValueError``, as before."""

    code = "witness_state_invalid"
