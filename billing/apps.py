"""App config of billing."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Tenants, API keys, tariffs, meter events, replay guard, bundles, the API."""

    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register system checks."""
        from . import checks  # noqa: F401
