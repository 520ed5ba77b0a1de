"""App config of billing."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Tenants, API keys, tariffs, meter events, replay guard, bundles, the API."""

    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (``billing.checks.CHECKS``), the proof
        dispatcher (``billing.tasks`` registers itself with
        ``billing.services.proofs`` on import), and the
        published trust anchors' keys as the kernel's
        :func:`kernel.keyring.published_keys` (read by the revocation admin, a
        lower app), and the receiver that issues a revoked attestation's
        credit note (``revocation.signals.attestation_revoked``)."""
        from billing import tasks  # noqa: F401
        from billing.checks import CHECKS
        from billing.receivers import credit_note_on_attestation_revoked
        from billing.selectors import trust_anchors_get
        from kernel.check_registry import checks_register
        from kernel.keyring import published_keys_source_set
        from revocation.signals import attestation_revoked

        checks_register(CHECKS)
        published_keys_source_set(lambda: trust_anchors_get().keys)
        attestation_revoked.connect(
            credit_note_on_attestation_revoked,
            dispatch_uid="billing.credit_note_on_attestation_revoked",
        )
