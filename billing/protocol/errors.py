"""Errors of the Django-free billing protocol (``billing.protocol``).

All derive from :class:`transparency.protocol.errors.ProtocolError`, so each has a
stable ``code``, a human ``message`` and an optional ``field``.
"""

from __future__ import annotations

from transparency.protocol.errors import ProtocolError


class BillingProtocolError(ProtocolError):
    """Root of the billing protocol errors."""

    code = "billing_protocol_error"


class CanonicalizationError(BillingProtocolError):
    """A value cannot be canonicalised with RFC 8785 (JCS), e.g. a float or NaN."""

    code = "canonicalization_error"


class KeyFormatError(BillingProtocolError):
    """A key (PEM, hex seed, JWK, base64url) is malformed or not Ed25519."""

    code = "key_format_invalid"


class SignatureError(BillingProtocolError):
    """An Ed25519 signature does not verify, or is malformed."""

    code = "signature_invalid"


class UnknownKeyError(SignatureError):
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
