"""System checks of the transparency app (IDs ``transparency.E1xx``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from transparency.selectors_witness import witness_verifiers


@register()
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
