"""The tenant's usage of one metric, summed per hour, day or billing window
(``GET /api/vdi/billing/usage``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication
from billing.selectors_usage import GROUP_BY_CHOICES, usage_summary_get
from kernel.protocol.errors import TimestampError
from kernel.protocol.timefmt import parse_rfc3339_utc


class Rfc3339UtcField(serializers.CharField):
    """An RFC 3339 UTC timestamp (``2026-11-01T00:00:00Z``, offset ``Z``) as
    an aware UTC datetime; anything else fails with ``timestamp_invalid``."""

    def to_internal_value(self, data: Any) -> datetime:
        """Return the parsed instant.

        Raises:
            serializers.ValidationError: (``timestamp_invalid``) not an RFC
                3339 UTC timestamp or not a real date.
        """
        try:
            return parse_rfc3339_utc(super().to_internal_value(data))
        except TimestampError as exc:
            raise serializers.ValidationError(
                str(exc), code=TimestampError.code
            ) from None


class UsageSummaryApi(APIView):
    """The authenticated tenant's usage of one metric, summed per hour, day
    or billing window (Stripe's meter event summaries, OpenMeter's query)."""

    authentication_classes = [TenantApiKeyAuthentication]

    class InputSerializer(serializers.Serializer[Any]):
        """Query ``metric`` (required), ``from`` and ``to`` (RFC 3339 UTC,
        ``from`` inclusive, ``to`` exclusive), ``group_by`` (``hour``,
        ``day`` or ``window``), all four required."""

        metric = serializers.CharField(max_length=128)
        group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES)

        def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
            """Add ``from`` and ``to`` (Python keywords, not class attributes)."""
            fields = super().get_fields()
            fields["from"] = Rfc3339UtcField()
            fields["to"] = Rfc3339UtcField()
            return fields

    def get(self, request: Request) -> Response:
        """Return ``{"metric", "group_by", "from", "to", "currency", "data":
        [{"start", "end", "window"?, "quantity", "amount_minor", "events"}],
        "total": {"quantity", "amount_minor", "events"}}`` (200; amounts in
        integer minor units; groups without events omitted).

        400 with the offending ``field``: ``required``, ``invalid_choice``
        (``group_by``), ``timestamp_invalid``, ``usage_query_invalid``
        (``from`` >= ``to``), ``usage_range_too_large`` (over 31 days by
        hour, 366 days by day); 422 ``usage_currency_mixed``.
        """
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        summary = usage_summary_get(
            tenant=request.user,
            metric=params["metric"],
            from_at=params["from"],
            to_at=params["to"],
            group_by=params["group_by"],
        )
        return Response(summary.to_json())
