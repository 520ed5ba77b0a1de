"""The verification check names in report order (docs/PROTOCOL.md §5.2, §5.3).

Written out here, not read from ``billing.protocol.verify``, so a renamed or
reordered check fails the tests that compare a report against them."""

from __future__ import annotations

#: The standard profile (``standard``), in report order.
STANDARD_CHECK_NAMES: tuple[str, ...] = (
    "bundle_format",
    "meter_signature",
    "issuer_signature",
    "tenant_binding",
    "tariff_hash",
    "tariff_in_force",
    "charge_recompute",
    "meter_hash",
    "charge_hash",
    "fingerprint",
    "commitments",
    "billing_proof",
    "checkpoint_signature",
    "log_inclusion",
)

#: The strict profile ``VDI_VERIFY_STRICT_V1``: the standard checks, then these.
STRICT_CHECK_NAMES: tuple[str, ...] = (
    *STANDARD_CHECK_NAMES,
    "kids_valid",
    "revocation_snapshot",
    "not_revoked",
    "authority_binding",
)
