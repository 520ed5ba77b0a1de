"""System checks of the billing app; their ids are in :data:`CHECK_IDS`.

Registered by ``BillingConfig.ready()`` (:func:`kernel.check_registry.checks_register`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning

from billing.keyring import get_keyring
from billing.settings import billing_settings
from circuits.settings import circuits_settings
from kernel.errors import SigningKeysUnconfigured
from kernel.settings import DEPRECATED_ENV_PREFIX, env_name, kernel_settings

__all__ = [
    "CHECKS",
    "CHECK_IDS",
    "PROOF_MODES",
    "check_deprecated_env",
    "check_proof_mode",
    "check_signing_keys",
]

#: Every id these checks emit, and what it means (one meaning per id).
CHECK_IDS = {
    "billing.E001": "production: the signing keys are missing or malformed, or a "
    "configured kid is not the key's RFC 7638 thumbprint",
    "billing.W001": "development: the signing keys are missing or malformed, or a "
    "configured kid is not the key's RFC 7638 thumbprint",
    "billing.E002": "MP_BILLING_PROOF_MODE is not sync, parallel or async",
    "billing.E003": "MP_BILLING_PROOF_MAX_ATTEMPTS or MP_BILLING_PROOF_BATCH is "
    "below 1",
    "billing.W002": "async proving in production with CELERY_TASK_ALWAYS_EAGER "
    "(the proof task runs inside every attest request)",
    "billing.W003": "product environment variables are set under their deprecated "
    "VDI_ names instead of MP_",
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
                f"MP_BILLING_PROOF_MODE is {mode!r}",
                hint="Set it to 'sync' (prove before signing), 'parallel' "
                "(prove while signing and logging; detached proof in the answer) "
                "or 'async' (a Celery worker attaches the proof).",
                id="billing.E002",
            )
        )
    for name, value in (
        ("MP_BILLING_PROOF_MAX_ATTEMPTS", billing_settings.proof_max_attempts),
        ("MP_BILLING_PROOF_BATCH", billing_settings.proof_batch),
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


def check_deprecated_env(
    app_configs: Any = None,
    *,
    environ: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> list[Any]:
    """``billing.W003``: product environment variables set as ``VDI_<X>``.

    Lists every ``VDI_<X>`` variable of ``environ`` that names a product
    setting (the Django setting ``VDI_<X>`` exists), with the ``MP_<X>`` name
    to use instead, and says which are ignored because ``MP_<X>`` is set too
    (``config.settings.product_env``: ``MP_<X>`` wins).

    Args:
        app_configs: Django's argument, unused (the check is project-wide).
        environ: the environment to inspect; default ``os.environ``, which
            also holds what ``config/settings.py`` read from ``.env``.

    Returns:
        no message, or one :class:`~django.core.checks.Warning`.
    """
    environ = os.environ if environ is None else environ
    deprecated = sorted(
        name
        for name in environ
        if name.startswith(DEPRECATED_ENV_PREFIX) and hasattr(settings, name)
    )
    if not deprecated:
        return []
    renames = ", ".join(
        f"{name} -> {env_name(name)}"
        + (f" (ignored: {env_name(name)} is set)" if env_name(name) in environ else "")
        for name in deprecated
    )
    return [
        Warning(
            f"deprecated environment variables: {renames}",
            hint="Rename each VDI_<X> variable to MP_<X> in the environment or "
            ".env; VDI_<X> is read only while MP_<X> is unset and stops working "
            "in a later release.",
            id="billing.W003",
        )
    ]


#: The checks ``BillingConfig.ready()`` registers.
CHECKS = (check_signing_keys, check_proof_mode, check_deprecated_env)
