"""Service-level errors of the revocation app (Django side).

They share the protocol root :class:`MeterproofError` (``code``, ``message``,
``field``); ``config/exception_handler.py`` maps each class to an HTTP status.
"""

from __future__ import annotations

from kernel.protocol.errors import MeterproofError


class RevocationServiceError(MeterproofError):
    """Root of the revocation service errors."""

    code = "revocation_service_error"


class AlreadyRevoked(RevocationServiceError):
    """The key ID or attestation already has a revocation in force."""

    code = "already_revoked"


class AlreadyLifted(RevocationServiceError):
    """The revocation was lifted before; a lift is recorded once."""

    code = "already_lifted"


class RevocationInputInvalid(RevocationServiceError):
    """A kid, receipt id, bundle hash or reason is out of shape."""

    code = "revocation_input_invalid"


class RevocationFeedUnavailable(RevocationServiceError):
    """The revocation feed URL could not be fetched (connection, timeout, HTTP
    status); the poller retries with backoff, then records ``unreachable``."""

    code = "revocation_feed_unreachable"
