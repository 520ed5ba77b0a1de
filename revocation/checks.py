"""System checks of the revocation app (``revocation.E00x`` / ``revocation.W00x``).

- ``revocation.E001``: ``VDI_BILLING_REVOCATION_JSON`` is set but is not a valid
  signed snapshot (not JSON, wrong shape, unknown issuer, bad signature), or
  cannot be verified because the server has no trust anchors.
- ``revocation.E002``: both ``VDI_BILLING_REVOCATION_JSON`` and
  ``VDI_BILLING_REVOCATION_URL`` are set (ambiguous source).
- ``revocation.E003``: ``VDI_BILLING_REVOCATION_URL`` is not http(s).
- ``revocation.E004``: a non-positive cache or maximum age.
- ``revocation.W001``: the inline snapshot is already stale (strict verification
  will fail closed until it is replaced).

The same ids are in :data:`CHECK_IDS`; ``RevocationConfig.ready()`` registers
:data:`CHECKS` (:func:`kernel.check_registry.checks_register`).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.checks import Error, Warning

from kernel.errors import SigningKeysUnconfigured
from revocation.protocol.errors import RevocationError
from revocation.protocol.snapshot import snapshot_check_fresh, snapshot_open
from revocation.services.snapshots import issuer_keys
from revocation.settings import revocation_settings

__all__ = ["CHECKS", "CHECK_IDS", "check_revocation_source"]

#: Every id these checks emit, and what it means (one meaning per id).
CHECK_IDS = {
    "revocation.E001": "MP_BILLING_REVOCATION_JSON is not a valid signed snapshot, "
    "or cannot be verified (no trust anchors)",
    "revocation.E002": "both MP_BILLING_REVOCATION_JSON and "
    "MP_BILLING_REVOCATION_URL are set",
    "revocation.E003": "MP_BILLING_REVOCATION_URL is not an http(s) URL",
    "revocation.E004": "a non-positive revocation cache or maximum age",
    "revocation.W001": "the inline revocation snapshot is already stale",
}


def check_revocation_source(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Validate the revocation source settings (see the module docstring)."""
    errors: list[Any] = []
    inline = revocation_settings.revocation_json
    url = revocation_settings.revocation_url
    cache = revocation_settings.revocation_cache_seconds
    max_age = revocation_settings.revocation_max_age_seconds
    if cache <= 0 or max_age <= 0:
        errors.append(
            Error(
                "MP_BILLING_REVOCATION_CACHE_SEC and MP_BILLING_REVOCATION_MAX_AGE_SEC "
                f"must be positive seconds, found {cache} and {max_age}",
                hint="Defaults: 60 and 3600.",
                id="revocation.E004",
            )
        )
    if inline and url:
        errors.append(
            Error(
                "both MP_BILLING_REVOCATION_JSON and MP_BILLING_REVOCATION_URL are "
                "set; the revocation source is ambiguous",
                hint="Set one: the inline snapshot (dev/pilot) or the feed URL.",
                id="revocation.E002",
            )
        )
    if url and not url.startswith(("http://", "https://")):
        errors.append(
            Error(
                f"MP_BILLING_REVOCATION_URL must be an http(s) URL, found {url!r}",
                hint="e.g. https://issuer.example/.well-known/vdi-billing-revocation.json",
                id="revocation.E003",
            )
        )
    if inline:
        hint = (
            "Paste the exact body of /.well-known/vdi-billing-revocation.json from "
            "the issuer this server trusts (docs/PROTOCOL.md, 'Revocation "
            "snapshot'), or unset MP_BILLING_REVOCATION_JSON."
        )
        # One id, two causes of one meaning: the inline snapshot is not usable.
        unusable: str | None = None
        try:
            snapshot = snapshot_open(inline, issuer_keys())
        except RevocationError as exc:
            unusable = (
                f"MP_BILLING_REVOCATION_JSON is not a valid signed revocation "
                f"snapshot: {exc.message} [{exc.code}]"
            )
        except SigningKeysUnconfigured as exc:
            unusable = (
                "MP_BILLING_REVOCATION_JSON cannot be verified: the server has "
                f"no trust anchors ({exc.message})"
            )
            hint = "Configure the keys ('python manage.py billing_keys')."
        if unusable is not None:
            errors.append(Error(unusable, hint=hint, id="revocation.E001"))
        else:
            try:
                snapshot_check_fresh(
                    snapshot, now=int(time.time()), max_age_seconds=max_age
                )
            except RevocationError as exc:
                errors.append(
                    Warning(
                        f"MP_BILLING_REVOCATION_JSON: {exc.message}",
                        hint="Strict verification fails closed until it is replaced.",
                        id="revocation.W001",
                    )
                )
    return errors


#: The checks ``RevocationConfig.ready()`` registers.
CHECKS = (check_revocation_source,)
