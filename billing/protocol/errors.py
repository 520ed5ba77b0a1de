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
    "MeterEventError",
    "QuantityError",
    "TariffError",
    "TrustAnchorError",
    "UnknownKeyError",
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
    """A bundle does not parse as ``vdi-billing/2``."""

    code = "bundle_format_invalid"


class TrustAnchorError(BillingProtocolError):
    """A trust-anchor document (vdi-billing-trust.json) is malformed."""

    code = "trust_anchors_invalid"
