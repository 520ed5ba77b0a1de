"""Models of the circuits app: only an admin anchor, no table.

:class:`ArtifactStatusPage` is an unmanaged model (``managed = False``, no
table is ever created) whose sole purpose is to put "Artifact status" on the
admin index; its ModelAdmin renders :func:`circuits.artifacts.artifact_status`.
"""

from __future__ import annotations

from django.db import models


class ArtifactStatusPage(models.Model):
    """Admin index entry for the "Artifact status" page (no rows, no table)."""

    class Meta:
        managed = False
        verbose_name = "Artifact status"
        verbose_name_plural = "Artifact status"
        default_permissions = ("view",)

    def __str__(self) -> str:
        """Return the page title."""
        return "Artifact status"
