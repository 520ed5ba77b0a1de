"""App config of audit."""

from django.apps import AppConfig


class AuditTrailConfig(AppConfig):
    """The append-only, hash-chained staff audit trail."""

    name = "audittrail"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
