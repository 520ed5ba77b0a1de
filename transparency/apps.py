"""App config of the transparency log."""

from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """The append-only RFC 9162 log, its checkpoints and (later) auditor UI."""

    name = "transparency"
    verbose_name = "Transparency log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (``transparency.checks.CHECKS``)."""
        from kernel.check_registry import checks_register
        from transparency.checks import CHECKS

        checks_register(CHECKS)
