"""Errors of the Django-free billing protocol (``billing.protocol``).

All derive from :class:`kernel.protocol.errors.ProtocolError`, so each has a
stable ``code``, a human ``message`` and an optional ``field``.
"""

from __future__ import annotations

from kernel.protocol.errors import ProtocolError, SignatureError

# The generic errors (CanonicalizationError, KeyFormatError, SignatureError,
# the strict-JSON family) live in kernel.protocol.errors, next to the code that
# raises them; UnknownKeyError below is both a SignatureError and a billing
# protocol error.
__all__ = [
    "BillingProtocolError",
    "BundleFormatError",
    "CheckFailed",
    "EmptyProfileError",
    "LogEvidenceError",
    "MeterEventError",
    "ProfileUnsupportedError",
    "QuantityError",
    "SkipCheck",
    "TariffError",
    "TrustAnchorError",
    "UnknownKeyError",
    "VerifierBackendError",
]


class BillingProtocolError(ProtocolError):
    """Root of the billing protocol errors."""

    code = "billing_protocol_error"


class UnknownKeyError(SignatureError, BillingProtocolError):
    """A ``kid`` is not among the trusted keys for the role."""

    code = "unknown_kid"


class TariffError(BillingProtocolError):
    """A tariff is malformed or cannot price the given quantity."""

    code = "tariff_invalid"


class QuantityError(TariffError):
    """A quantity is not a non-negative integer within bounds."""

    code = "quantity_invalid"


class MeterEventError(BillingProtocolError):
    """A meter event is malformed (missing field, wrong type, bad timestamp)."""

    code = "meter_event_invalid"


class BundleFormatError(BillingProtocolError):
    """A bundle does not parse as ``vdi-billing/2`` or ``vdi-billing/3``."""

    code = "bundle_format_invalid"


class TrustAnchorError(BillingProtocolError):
    """A trust-anchor document (vdi-billing-trust.json) is malformed."""

    code = "trust_anchors_invalid"


class LogEvidenceError(BundleFormatError, ValueError):
    """A bundle's ``log`` member is built from an incomplete set of values
    (``leaf_index`` without ``tree_size``, ``inclusion_proof`` and
    ``checkpoint``). Also a ``ValueError``, as before."""

    code = "log_evidence_incomplete"


class CheckFailed(BillingProtocolError):
    """A verification check found a mismatch (generic; ``code`` is per check).

    Raised inside the named checks of :mod:`billing.protocol.verify`; the
    verifier reports it as a ``fail`` with the instance's ``code``.
    """

    code = "check_failed"

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        """Record the per-check ``code`` (stable snake_case), ``message`` and
        optional ``field``."""
        super().__init__(message, field=field)
        self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle as ``CheckFailed(code, message, field=field)`` (the
        offline CLI ships a revocation problem to its worker processes)."""
        return (_check_failed, (self.code, self.message, self.field))


def _check_failed(code: str, message: str, field: str | None) -> CheckFailed:
    return CheckFailed(code, message, field=field)


class SkipCheck(BillingProtocolError):
    """Raised by a check whose optional input is absent (reported as ``skip``).

    ``code`` names what is absent (``billing_proof_missing``,
    ``log_evidence_missing``); the strict profile reports the skip as a
    ``fail`` with that code.
    """

    code = "required_check_skipped"

    def __init__(self, message: str, *, code: str = "required_check_skipped") -> None:
        """Record ``message`` and the ``code`` used when a skip is a failure."""
        super().__init__(message)
        self.code = code


class ProfileUnsupportedError(BillingProtocolError, ValueError):
    """A verifier was asked for a verification profile it does not implement
    (never silently downgraded). Also a ``ValueError``, as before."""

    code = "profile_unsupported"


class EmptyProfileError(ProfileUnsupportedError):
    """A verification profile has no check: an empty profile is an error, not
    a success (fail closed)."""

    code = "profile_empty"


class VerifierBackendError(BillingProtocolError, ValueError):
    """A verifier was asked for a Groth16 backend it does not know (``fast``
    or ``reference``). Also a ``ValueError``, as before."""

    code = "groth16_unknown_backend"
