"""Verification profiles: each is a tuple of named checks, run in order after
``bundle_format`` (docs/PROTOCOL.md §5.2, §5.3).

In the style of sigstore-python's ``verify/policy.py``: a profile is data, and
a profile with no check is an error, never a success (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..errors import EmptyProfileError, ProfileUnsupportedError
from .context import Check
from .log import checkpoint_signature, log_inclusion
from .options import PROFILE_STANDARD, PROFILE_STRICT, PROFILES
from .proofs import authority_binding, billing_proof
from .standard import (
    charge_hash,
    charge_recompute,
    commitments,
    fingerprint,
    issuer_signature,
    meter_hash,
    meter_signature,
    tariff_hash,
    tariff_in_force,
    tenant_binding,
)
from .strict import kids_valid, not_revoked, revocation_snapshot

__all__ = [
    "PROFILE_CHECKS",
    "STANDARD_PROFILE",
    "STRICT_CHECKS",
    "STRICT_PROFILE",
    "profile_checks",
]

#: The standard profile, in report order.
STANDARD_PROFILE: Final[tuple[Check, ...]] = (
    Check("meter_signature", meter_signature),
    Check("issuer_signature", issuer_signature),
    Check("tenant_binding", tenant_binding),
    Check("tariff_hash", tariff_hash),
    Check("tariff_in_force", tariff_in_force),
    Check("charge_recompute", charge_recompute),
    Check("meter_hash", meter_hash),
    Check("charge_hash", charge_hash),
    Check("fingerprint", fingerprint),
    Check("commitments", commitments),
    Check("billing_proof", billing_proof),
    Check("checkpoint_signature", checkpoint_signature),
    Check("log_inclusion", log_inclusion),
)

_STRICT_ONLY: Final[tuple[Check, ...]] = (
    Check("kids_valid", kids_valid),
    Check("revocation_snapshot", revocation_snapshot),
    Check("not_revoked", not_revoked),
    Check("authority_binding", authority_binding),
)

#: ``VDI_VERIFY_STRICT_V1``: every standard check, then the strict ones. No
#: check may skip (the verifier reports a skip as a failure).
STRICT_PROFILE: Final[tuple[Check, ...]] = STANDARD_PROFILE + _STRICT_ONLY

#: Names of the checks only the strict profile runs, in order.
STRICT_CHECKS: Final[tuple[str, ...]] = tuple(check.name for check in _STRICT_ONLY)

#: Canonical profile name -> its checks.
PROFILE_CHECKS: Final[Mapping[str, tuple[Check, ...]]] = {
    PROFILE_STANDARD: STANDARD_PROFILE,
    PROFILE_STRICT: STRICT_PROFILE,
}


def profile_checks(
    profile: str, table: Mapping[str, tuple[Check, ...]] = PROFILE_CHECKS
) -> tuple[Check, ...]:
    """Return the checks of the canonical profile name ``profile``.

    Raises:
        ProfileUnsupportedError: (``profile_unsupported``) ``profile`` is not
            in ``table``.
        EmptyProfileError: (``profile_empty``) the profile has no check.
    """
    checks = table.get(profile)
    if checks is None:
        raise ProfileUnsupportedError(
            f"verification profile {profile!r} is not supported; expected one "
            f"of {', '.join(PROFILES)}",
            field="profile",
        )
    if not checks:
        raise EmptyProfileError(
            f"verification profile {profile!r} has no check; expected at least one",
            field="profile",
        )
    return checks
