"""Errors of the Django-free revocation protocol (``revocation.protocol``).

All derive from :class:`kernel.protocol.errors.ProtocolError`, so each has a
stable ``code``, a human ``message`` and an optional ``field``. Codes:

====================================  =============================================
code                                  meaning
====================================  =============================================
``revocation_feed_malformed``         not JSON, or not the snapshot shape
``revocation_feed_too_large``         larger than the size limit (bytes)
``revocation_signature_invalid``      unsigned, or the issuer signature fails
``revocation_unknown_issuer``         signed by a kid not among the issuer keys
``revocation_rollback``               older sequence (or same sequence, new content)
``revocation_snapshot_stale``         older than the freshness maximum
``kid_revoked``                       a key ID is revoked (strict profile)
``attestation_revoked``               a receipt id / bundle hash is revoked
====================================  =============================================
"""

from __future__ import annotations

from kernel.protocol.errors import ProtocolError


class RevocationError(ProtocolError):
    """Root of the revocation protocol errors."""

    code = "revocation_error"


class RevocationFeedMalformedError(RevocationError):
    """The snapshot document is not JSON or not the documented shape."""

    code = "revocation_feed_malformed"


class RevocationFeedTooLargeError(RevocationError):
    """The snapshot document exceeds the size limit (``max_bytes``)."""

    code = "revocation_feed_too_large"


class RevocationSignatureError(RevocationError):
    """The snapshot is unsigned, or its issuer signature does not verify."""

    code = "revocation_signature_invalid"


class RevocationUnknownIssuerError(RevocationSignatureError):
    """The snapshot's ``sig.kid`` is not among the trusted issuer keys."""

    code = "revocation_unknown_issuer"


class RevocationRollbackError(RevocationError):
    """The snapshot is older than the last accepted one (rollback refused).

    Raised when ``sequence`` is lower than the previous sequence, or equal to
    it with different content.
    """

    code = "revocation_rollback"


class RevocationStaleError(RevocationError):
    """The snapshot is older than the freshness maximum (fail closed).

    Attributes:
        age_seconds: ``now - snapshotTime`` in seconds.
        max_age_seconds: the configured maximum, in seconds.
    """

    code = "revocation_snapshot_stale"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        age_seconds: int = 0,
        max_age_seconds: int = 0,
    ) -> None:
        super().__init__(message, field=field)
        self.age_seconds = age_seconds
        self.max_age_seconds = max_age_seconds


class RevokedError(RevocationError):
    """Something the verifier relies on is revoked (raised by the strict
    profile; use a subclass)."""

    code = "revoked"


class KidRevokedError(RevokedError):
    """A key ID (RFC 7638 thumbprint) is listed in ``revokedKids``."""

    code = "kid_revoked"


class AttestationRevokedError(RevokedError):
    """A receipt id or bundle hash is listed in ``revokedAttestations``."""

    code = "attestation_revoked"
