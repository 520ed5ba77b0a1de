"""App config of the transparency log."""

from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """The append-only RFC 9162 log, its checkpoints and (later) auditor UI."""

    name = "transparency"
    verbose_name = "Transparency log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the app's system checks."""
        from transparency import checks  # noqa: F401
