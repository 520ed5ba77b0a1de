"""System checks of the billing app; their ids are in :data:`CHECK_IDS`.

Registered by ``BillingConfig.ready()`` (:func:`kernel.check_registry.checks_register`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning

from billing.keyring import get_keyring
from billing.settings import billing_settings
from circuits.settings import circuits_settings
from kernel.errors import SigningKeysUnconfigured
from kernel.settings import kernel_settings

__all__ = ["CHECKS", "CHECK_IDS", "PROOF_MODES", "check_proof_mode", "check_signing_keys"]

#: Every id these checks emit, and what it means (one meaning per id).
CHECK_IDS = {
    "billing.E001": "production: the signing keys are missing or malformed, or a "
    "configured kid is not the key's RFC 7638 thumbprint",
    "billing.W001": "development: the signing keys are missing or malformed, or a "
    "configured kid is not the key's RFC 7638 thumbprint",
    "billing.E002": "VDI_BILLING_PROOF_MODE is not sync, parallel or async",
    "billing.E003": "VDI_BILLING_PROOF_MAX_ATTEMPTS or VDI_BILLING_PROOF_BATCH is "
    "below 1",
    "billing.W002": "async proving in production with CELERY_TASK_ALWAYS_EAGER "
    "(the proof task runs inside every attest request)",
}


def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Report missing or inconsistent signing keys.

    ``billing.W001`` (development) / ``billing.E001`` (production): keys missing
    or malformed, or a configured kid is not the key's RFC 7638 thumbprint.
    """
    try:
        get_keyring()
    except SigningKeysUnconfigured as exc:
        hint = (
            "Run 'python manage.py billing_keys' to write development keys into .env."
        )
        if kernel_settings.production:
            return [Error(exc.message, hint=hint, id="billing.E001")]
        return [Warning(exc.message, hint=hint, id="billing.W001")]
    return []


#: Values of ``VDI_BILLING_PROOF_MODE``.
PROOF_MODES = ("sync", "parallel", "async")


def check_proof_mode(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``billing.E002``: ``VDI_BILLING_PROOF_MODE`` is not ``sync``,
    ``parallel`` or ``async``.
    ``billing.E003``: ``VDI_BILLING_PROOF_MAX_ATTEMPTS`` /
    ``VDI_BILLING_PROOF_BATCH`` is < 1.
    ``billing.W002``: async proving in production with Celery tasks run
    eagerly (inside the attest request)."""
    problems: list[Any] = []
    mode = circuits_settings.proof_mode
    if mode not in PROOF_MODES:
        problems.append(
            Error(
                f"VDI_BILLING_PROOF_MODE is {mode!r}",
                hint="Set it to 'sync' (prove before signing), 'parallel' "
                "(prove while signing and logging; detached proof in the answer) "
                "or 'async' (a Celery worker attaches the proof).",
                id="billing.E002",
            )
        )
    for name, value in (
        ("VDI_BILLING_PROOF_MAX_ATTEMPTS", billing_settings.proof_max_attempts),
        ("VDI_BILLING_PROOF_BATCH", billing_settings.proof_batch),
    ):
        if value < 1:
            problems.append(
                Error(
                    f"{name} must be at least 1",
                    hint="Defaults: 5 attempts, batches of 64.",
                    id="billing.E003",
                )
            )
    if (
        mode == "async"
        and circuits_settings.incircuit_binding
        and settings.CELERY_TASK_ALWAYS_EAGER
        and kernel_settings.production
    ):
        problems.append(
            Warning(
                "async proving with CELERY_TASK_ALWAYS_EAGER: the proof task runs "
                "inside every attest request, so attest is as slow as sync",
                hint="Set CELERY_TASK_ALWAYS_EAGER=false and run a Celery worker.",
                id="billing.W002",
            )
        )
    return problems


#: The checks ``BillingConfig.ready()`` registers.
CHECKS = (check_signing_keys, check_proof_mode)
