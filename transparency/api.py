"""Transparency-log API (first cut): the log head."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from transparency.selectors import log_head_get


class LogHeadApi(APIView):
    """``GET /api/vdi/billing/transparency/head``: size, root and checkpoint."""

    def get(self, request: Request) -> Response:
        """Return ``{origin, tree_size, root_hash, latest_leaf_hash, checkpoint}``
        (``root_hash`` lowercase hex; ``checkpoint`` the C2SP signed note)."""
        state, checkpoint = log_head_get()
        from transparency.models import LogEntry

        latest = (
            LogEntry.objects.filter(leaf_index=state.tree_size - 1)
            .values_list("leaf_hash", flat=True)
            .first()
            if state.tree_size
            else None
        )
        return Response(
            {
                "origin": checkpoint.origin if checkpoint else None,
                "tree_size": state.tree_size,
                "root_hash": state.root_hash or None,
                "latest_leaf_hash": latest,
                "checkpoint": checkpoint.note if checkpoint else None,
            }
        )
