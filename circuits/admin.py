"""Django admin: the read-only "Artifact status" page for staff.

Shows each artifact with the manifest's and the actual SHA-256 and the check's
verdict, the r1cs constraint and wire counts, the ceremony contributors and
beacon (from transcript.json), the manifest signature's verdict, and whether
attest is currently allowed to prove, the proof mode and how many bundles are
in each proof state (links to the filtered bundle list). Nothing here changes
state.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from circuits.artifacts import ArtifactStatus, artifact_status
from circuits.models import ArtifactStatusPage
from circuits.settings import circuits_settings
from kernel.admin_helpers import ReadOnlyAdmin


def _proof_counts() -> list[tuple[str, int]]:
    """Return ``[(proof_status, bundles)]`` for the bundles' Groth16 proof
    states (``billing.Bundle.proof_status``), looked up by app label so this
    app does not import billing."""
    bundle = apps.get_model("billing", "Bundle")
    counts = dict(
        bundle.objects.values_list("proof_status").annotate(n=Count("id")).order_by()
    )
    return [(value, counts.get(value, 0)) for value, _ in bundle.ProofStatus.choices]


def _transcript(status: ArtifactStatus) -> dict[str, Any] | None:
    """Return the parsed transcript.json named by the manifest, or ``None``."""
    if status.manifest is None:
        return None
    path = status.base_dir / status.manifest["roles"]["transcript"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@admin.register(ArtifactStatusPage)
class ArtifactStatusAdmin(ReadOnlyAdmin):
    """Renders the artifact verdict instead of a change list (staff only)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Every active staff member may see the page."""
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Every active staff member may see the page."""
        return self.has_module_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Render the freshly recomputed artifact status."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        status = artifact_status(refresh=True)
        transcript = _transcript(status)
        context = {
            **self.admin_site.each_context(request),
            "title": "Artifact status",
            "opts": self.model._meta,
            "status": status,
            "manifest": status.manifest or {},
            "transcript": transcript,
            "phase1": (transcript or {}).get("phase1", {}),
            "phase2": (transcript or {}).get("phase2", {}),
            "beacon": (transcript or {}).get("beacon")
            or (status.manifest or {}).get("ceremony", {}).get("beacon"),
            "proof_mode": circuits_settings.proof_mode,
            "proof_counts": _proof_counts(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/circuits/artifact_status.html", context)
