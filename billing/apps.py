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
        lower app)."""
        from billing import tasks  # noqa: F401
        from billing.checks import CHECKS
        from billing.selectors import trust_anchors_get
        from kernel.check_registry import checks_register
        from kernel.keyring import published_keys_source_set

        checks_register(CHECKS)
        published_keys_source_set(lambda: trust_anchors_get().keys)
