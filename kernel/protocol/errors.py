"""The project's error root and the generic errors every package raises.

:class:`MeterproofError` is the one root of meterproof's exceptions (CONVENTIONS
§4): every class carries a stable snake_case ``code`` (documented in
docs/PROTOCOL.md, never renamed), a ``message`` and an optional ``field``.
``config/exception_handler.py`` maps classes to HTTP statuses and the offline
CLI prints the codes in its report.

- :class:`ProtocolError` roots the errors of the Django-free ``protocol``
  packages (``kernel.protocol``, ``transparency.protocol``,
  ``revocation.protocol``, ``circuits.protocol``, ``billing.protocol``);
- the service errors of each app (``<app>/errors.py``) derive from
  :class:`MeterproofError` directly;
- the generic protocol errors raised by the kernel itself live here:
  canonical JSON (:mod:`kernel.protocol.jcs`), Ed25519 keys and signatures
  (:mod:`kernel.protocol.ed25519`) and the strict JSON reader
  (:mod:`kernel.protocol.strictjson`).

This module is the lowest layer; it imports only :mod:`kernel.protocol.text`.
"""

from __future__ import annotations

from .text import safe_text

#: Longest message / field an error keeps (characters); longer ones are cut.
MAX_MESSAGE_CHARS = 2000
MAX_FIELD_CHARS = 200


class MeterproofError(Exception):
    """Root of every meterproof error (protocol and service).

    Attributes:
        code: stable snake_case identifier, documented and never renamed. The
            root's own ``"protocol_error"`` predates the kernel and is kept so
            that no emitted code changes.
        message: human sentence saying what was expected and what was found.
        field: dotted path of the offending input field, or ``None``.

    ``message`` and ``field`` may quote hostile input: control characters and
    lone surrogates are escaped and long text is cut
    (:func:`~kernel.protocol.text.safe_text`), so every error encodes as
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


class ProtocolError(MeterproofError):
    """Root of the errors of the Django-free ``protocol`` packages
    (``code`` ``protocol_error``, inherited from :class:`MeterproofError`)."""


class CanonicalizationError(ProtocolError):
    """A value cannot be canonicalised with RFC 8785 (JCS), e.g. a float or NaN.

    Raised by :mod:`kernel.protocol.jcs`.
    """

    code = "canonicalization_error"


class KeyFormatError(ProtocolError):
    """A key (PEM, hex seed, JWK, base64url) is malformed or not Ed25519.

    Raised by :mod:`kernel.protocol.ed25519`.
    """

    code = "key_format_invalid"


class SignatureError(ProtocolError):
    """A domain-separated Ed25519 signature does not verify, or is malformed.

    Raised by :func:`kernel.protocol.ed25519.verify_object`;
    ``billing.protocol.errors.UnknownKeyError`` subclasses it. C2SP signed
    notes use the separate ``transparency.protocol.errors.NoteError`` family.
    """

    code = "signature_invalid"


class JsonInputError(ProtocolError):
    """A JSON text is not accepted by the strict reader (RFC 8259 syntax, or
    a number literal ``NaN``/``Infinity``, or trailing data).

    Raised by :mod:`kernel.protocol.strictjson`, the one reader used at
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


class TimestampError(ProtocolError, ValueError):
    """A value is not an RFC 3339 UTC timestamp as the protocol writes it
    (``2026-11-21T10:05:03Z``, RFC 3339 §5.6 with the offset fixed to ``Z``).

    Raised by :mod:`kernel.protocol.timefmt`. Also a ``ValueError``: the
    callers that wrap it in their own error (meter events, bundles, trust
    anchors) catch ``ValueError``.
    """

    code = "timestamp_invalid"


class NaiveDatetimeError(TimestampError):
    """A protocol function was given a naive ``datetime`` (no timezone): a
    caller bug, since protocol instants are timezone-aware.

    Raised by :func:`kernel.protocol.timefmt.format_rfc3339_utc` and
    ``billing.protocol.tariff.TariffDocument.is_effective_at``.
    """

    code = "naive_datetime"
