"""Witness API: ``POST /api/vdi/billing/transparency/cosignatures``.

Kept out of :mod:`transparency.api` (the log's read path) so the two files
can be edited separately. Public, like the read path: a cosignature
authenticates itself by its witness key (``VDI_BILLING_LOG_WITNESS_KEYS``).
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from transparency.services.witness import cosignature_submit


class CosignatureSubmitApi(APIView):
    """``POST /api/vdi/billing/transparency/cosignatures``: store a witness's
    C2SP tlog-cosignature on one of the log's signed checkpoints."""

    class InputSerializer(serializers.Serializer):
        """``{cosignature, checkpoint}`` or ``{cosignature, tree_size,
        root_hash}``; see docs/PROTOCOL.md "Witness cosignatures"."""

        cosignature = serializers.CharField(trim_whitespace=False, max_length=1000)
        checkpoint = serializers.CharField(
            trim_whitespace=False, required=False, max_length=10000
        )
        tree_size = serializers.IntegerField(min_value=0, required=False)
        root_hash = serializers.RegexField(
            r"^[0-9a-fA-F]{64}$", required=False, max_length=64
        )

        def validate(self, attrs: dict[str, object]) -> dict[str, object]:
            """Require the checkpoint text, or both tree_size and root_hash."""
            if "checkpoint" not in attrs and not (
                "tree_size" in attrs and "root_hash" in attrs
            ):
                raise serializers.ValidationError(
                    {"checkpoint": "give checkpoint, or tree_size and root_hash"},
                    code="required",
                )
            return attrs

    def post(self, request: Request) -> Response:
        """Verify and store the cosignature.

        Returns ``{checkpoint_id, tree_size, root_hash, name, key_id,
        timestamp, received_at}`` with 201 (stored) or 200 (already stored).
        Errors (400): ``witness_unknown_key``, ``cosignature_invalid``,
        ``checkpoint_unknown``, or a serializer code.
        """
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = cosignature_submit(
            cosignature=data["cosignature"],
            checkpoint=data.get("checkpoint"),
            tree_size=data.get("tree_size"),
            root_hash=data.get("root_hash"),
        )
        row = outcome.cosignature
        return Response(
            {
                "checkpoint_id": row.checkpoint_id,
                "tree_size": row.checkpoint.tree_size,
                "root_hash": row.checkpoint.root_hash,
                "name": row.name,
                "key_id": row.key_id,
                "timestamp": row.timestamp,
                "received_at": row.received_at,
            },
            status=201 if outcome.created else 200,
        )
