"""Service-level errors of the transparency app (Django side).

Rooted at :class:`MeterproofError` (``code``, ``message``, ``field``);
``config/exception_handler.py`` maps each class to an HTTP status.
"""

from __future__ import annotations

from kernel.protocol.errors import MeterproofError
from transparency.protocol.errors import FetchError


class TransparencyServiceError(MeterproofError):
    """Root of the transparency service errors."""

    code = "transparency_error"


class TreeSizeOutOfRange(TransparencyServiceError):
    """An index, size or range lies outside the signed tree (HTTP 400)."""

    code = "tree_size_out_of_range"


class RangeTooLarge(TransparencyServiceError):
    """An entries page larger than the bound was asked for (HTTP 400)."""

    code = "range_too_large"


class CheckpointNotFound(TransparencyServiceError):
    """No checkpoint was signed for the requested tree size (HTTP 404)."""

    code = "checkpoint_not_found"


class LeafNotFound(TransparencyServiceError):
    """No sequenced entry has the requested index or leaf hash (HTTP 404)."""

    code = "leaf_not_found"


class TileNotFound(TransparencyServiceError):
    """The signed tree does not hold the requested tile (HTTP 404)."""

    code = "tile_not_found"


class InvalidParameter(TransparencyServiceError):
    """A query parameter is missing or malformed (HTTP 400)."""

    code = "invalid_parameter"


class WitnessUnknownKey(TransparencyServiceError):
    """A cosignature is by a key not in ``MP_BILLING_LOG_WITNESS_KEYS`` (400)."""

    code = "witness_unknown_key"


class CosignatureInvalid(TransparencyServiceError):
    """A cosignature line is malformed, does not verify over the checkpoint,
    or carries a timestamp in the future (HTTP 400)."""

    code = "cosignature_invalid"


class CheckpointUnknown(TransparencyServiceError):
    """A cosignature names a checkpoint the log never signed (HTTP 400)."""

    code = "checkpoint_unknown"


class AuditCheckFailed(TransparencyServiceError):
    """Root of the auditor UI's log verdict failures.

    Raised inside a named check of :mod:`transparency.selectors_audit` and
    shown as that check's failure (``code``, ``message``); never an HTTP
    answer.
    """

    code = "audit_check_failed"


class LogTrustUnavailable(AuditCheckFailed):
    """No trusted log origin and keys to check against (the server has no
    keys, or its key configuration is bad)."""

    code = "log_trust_unavailable"


class LeafHashMismatch(AuditCheckFailed):
    """A stored entry's data does not hash to its stored ``leaf_hash``
    (SHA-256(0x00 || data), RFC 9162 §2.1.1): the data was changed."""

    code = "leaf_hash_mismatch"


class CheckpointRowMismatch(AuditCheckFailed):
    """A checkpoint's signed note names another tree size or root hash than
    its stored row."""

    code = "checkpoint_row_mismatch"


class PrerequisiteCheckFailed(AuditCheckFailed):
    """A check could not run because a check it depends on failed (e.g. the
    inclusion proof needs the signed checkpoint to open first)."""

    code = "prerequisite_check_failed"


class FetchStatusError(FetchError):
    """An HTTP(S) fetch answered a status the caller does not accept.

    Shares :class:`FetchError`'s code ``fetch_failed``.

    Attributes:
        status: the HTTP status code.
        body: the first bytes of the answer's body (at most 64 KiB), for the
            message.
    """

    def __init__(
        self, message: str, *, status: int, body: bytes = b"", field: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.body = body


class FetchTooLargeError(FetchError):
    """An HTTP(S) answer is larger than the caller's size cap (bytes).

    Attributes:
        max_bytes: the cap, bytes.
        size_bytes: the size the server declared in ``Content-Length``, or
            ``None`` when the body was cut while reading (more than
            ``max_bytes`` arrived).
    """

    code = "fetch_too_large"

    def __init__(
        self,
        message: str,
        *,
        max_bytes: int,
        size_bytes: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.max_bytes = max_bytes
        self.size_bytes = size_bytes
