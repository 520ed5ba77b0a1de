"""App config of billing."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Tenants, API keys, tariffs, meter events, replay guard, bundles, the API."""

    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register system checks and the proof dispatcher (``billing.tasks``
        registers itself with ``billing.services.proofs`` on import)."""
        from . import checks, tasks  # noqa: F401
