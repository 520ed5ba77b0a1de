"""System checks of the billing app (``billing.E00x`` / ``billing.W00x``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from billing.errors import SigningKeysUnconfigured


@register("meterproof")
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Report missing or inconsistent signing keys.

    ``billing.W001`` (development) / ``billing.E001`` (production): keys missing
    or malformed, or a configured kid is not the key's RFC 7638 thumbprint.
    """
    from billing.keyring import get_keyring

    try:
        get_keyring()
    except SigningKeysUnconfigured as exc:
        hint = (
            "Run 'python manage.py billing_keys' to write development keys into .env."
        )
        if settings.PRODUCTION:
            return [Error(exc.message, hint=hint, id="billing.E001")]
        return [Warning(exc.message, hint=hint, id="billing.W001")]
    return []
