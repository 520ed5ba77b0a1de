"""App config of circuits: circuit artifacts, the ceremony, the manifest."""

from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger("circuits")


class CircuitsConfig(AppConfig):
    """Circom artifacts of ``apiBillingV2``, their signed manifest, checks."""

    name = "circuits"
    verbose_name = "Circuits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (``circuits.checks.CHECKS``) and
        validate the artifacts once (logged).

        The verdict is cached in :mod:`circuits.artifacts` (keyed by file
        mtimes, recomputed on demand); a mismatch never stops the server from
        starting, it makes :func:`circuits.artifacts.require_artifacts` refuse
        proving (HTTP 503 ``artifact_manifest_mismatch``) while in-circuit
        binding is on.
        """
        from circuits.artifacts import artifact_status
        from circuits.checks import CHECKS
        from kernel.check_registry import checks_register

        checks_register(CHECKS)

        status = artifact_status()
        if status.ok:
            logger.info("circuit artifacts: %s", status.summary)
        elif status.binding_enabled:
            logger.error(
                "circuit artifacts: %s (%s); attest with proofs is refused",
                status.summary,
                status.reason,
            )
        else:
            logger.warning("circuit artifacts: %s (%s)", status.summary, status.reason)
