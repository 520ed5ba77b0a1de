"""System checks of the transparency app (ids ``transparency.E1xx``, in
:data:`CHECK_IDS`).

Registered by ``TransparencyConfig.ready()``
(:func:`kernel.check_registry.checks_register`).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured

from transparency.selectors_witness import witness_verifiers

__all__ = ["CHECKS", "CHECK_IDS", "check_witness_keys"]

#: Every id these checks emit, and what it means (one meaning per id).
CHECK_IDS = {
    "transparency.E101": "an MP_BILLING_LOG_WITNESS_KEYS entry is not a C2SP 0x04 "
    "(cosignature) verifier key",
}


def check_witness_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``transparency.E101``: every ``VDI_BILLING_LOG_WITNESS_KEYS`` entry is a
    well-formed C2SP 0x04 (cosignature) verifier key."""
    try:
        witness_verifiers()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Use the vkey printed by 'manage.py tlog_witness --init'.",
                id="transparency.E101",
            )
        ]
    return []


#: The checks ``TransparencyConfig.ready()`` registers.
CHECKS = (check_witness_keys,)
