"""App config of revocation."""

from django.apps import AppConfig


class RevocationConfig(AppConfig):
    """Revoked key IDs and attestations, signed snapshots, the feed and its poller."""

    name = "revocation"
    verbose_name = "Revocation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (``revocation.checks.CHECKS``)."""
        from kernel.check_registry import checks_register
        from revocation.checks import CHECKS

        checks_register(CHECKS)
