"""The tenant's own bundles: the cursor-paginated list, one bundle, and its
proof status (``/api/vdi/billing/bundles``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication
from billing.errors import InvalidParameter
from billing.pagination import BundleCursor
from billing.selectors import (
    bundle_page_list,
    bundle_proof_status_get,
)
from billing.services.bundles import bundle_get_sequenced
from kernel.protocol.errors import MeterproofError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc

_WINDOW_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_LIMIT_RE: Final = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)


class BundleListApi(APIView):
    """List the authenticated tenant's own bundles, newest first, with an
    opaque cursor (Stripe's list habit: ``data`` and ``has_more``)."""

    authentication_classes = [TenantApiKeyAuthentication]
    #: Rows per page without ``limit`` / the largest ``limit`` accepted.
    default_limit = 50
    max_limit = 500
    parameters = ("window", "metric", "from", "to", "cursor", "limit")

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        """One bundle as the list shows it (a row of
        ``billing.selectors.BundlePage.rows``); ``leaf_index`` only once the
        leaf is sequenced; ``url`` fetches the full bundle."""

        receipt_id = serializers.CharField()
        window = serializers.CharField()
        metric = serializers.CharField()
        quantity = serializers.IntegerField()
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        tariff_id = serializers.CharField()
        tariff_version = serializers.IntegerField(source="tariff_version_number")
        occurred_at = serializers.SerializerMethodField()
        issued_at = serializers.SerializerMethodField()
        leaf_index = serializers.IntegerField()
        url = serializers.SerializerMethodField()

        def get_occurred_at(self, row: dict[str, Any]) -> str:
            """Return ``occurred_at`` as RFC 3339 UTC."""
            return format_rfc3339_utc(row["occurred_at"])

        def get_issued_at(self, row: dict[str, Any]) -> str:
            """Return ``issued_at`` as RFC 3339 UTC (with its microseconds)."""
            return format_rfc3339_utc(row["issued_at"])

        def get_url(self, row: dict[str, Any]) -> str:
            """Return the absolute URL of ``GET .../bundles/<receipt_id>``."""
            path = reverse("billing-bundle", args=[row["receipt_id"]])
            return str(self.context["request"].build_absolute_uri(path))

        def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
            """Return the item; ``leaf_index`` is left out while queued."""
            item = dict(super().to_representation(instance))
            if item["leaf_index"] is None:
                del item["leaf_index"]
            return item

    def _parameters(self, request: Request) -> dict[str, Any]:
        """Return the ``bundle_page_list`` keyword arguments of the query.

        Raises:
            InvalidParameter: (``invalid_parameter``) an unknown, repeated or
                empty parameter, a ``window`` not ``YYYY-MM``, a ``metric``
                over 128 characters, ``from``/``to`` not RFC 3339 UTC
                (``2026-11-01T00:00:00Z``) or ``to`` not after ``from``, a
                ``limit`` not an integer from 1 to 500.
            InvalidCursor: (``invalid_cursor``) a cursor not issued here.
        """
        query = request.query_params
        values: dict[str, str] = {}
        for name in query:
            if name not in self.parameters:
                raise InvalidParameter(
                    f"unknown parameter {name!r}; expected one of "
                    f"{', '.join(self.parameters)}",
                    field=name,
                )
            given = query.getlist(name)
            if len(given) != 1 or not given[0]:
                raise InvalidParameter(
                    f"{name} must be given once, non-empty", field=name
                )
            values[name] = given[0]
        window = values.get("window")
        if window is not None and not _WINDOW_RE.fullmatch(window):
            raise InvalidParameter(
                f"window must be a billing month YYYY-MM, found {window!r}",
                field="window",
            )
        metric = values.get("metric")
        if metric is not None and len(metric) > 128:
            raise InvalidParameter(
                f"metric has {len(metric)} characters, at most 128", field="metric"
            )
        bounds: dict[str, datetime | None] = {}
        for name in ("from", "to"):
            bounds[name] = None
            if name in values:
                try:
                    bounds[name] = parse_rfc3339_utc(values[name])
                except MeterproofError as exc:
                    raise InvalidParameter(
                        f"{name}: {exc.message}", field=name
                    ) from None
        occurred_from, occurred_to = bounds["from"], bounds["to"]
        if (
            occurred_from is not None
            and occurred_to is not None
            and occurred_to <= occurred_from
        ):
            raise InvalidParameter(
                f"to ({values['to']}) must be after from ({values['from']})",
                field="to",
            )
        limit = self.default_limit
        if "limit" in values:
            text = values["limit"]
            if not _LIMIT_RE.fullmatch(text) or int(text) > self.max_limit:
                raise InvalidParameter(
                    f"limit must be an integer from 1 to {self.max_limit}, "
                    f"found {text!r}",
                    field="limit",
                )
            limit = int(text)
        cursor = values.get("cursor")
        return {
            "limit": limit,
            "after": BundleCursor.decode(cursor) if cursor is not None else None,
            "window": window,
            "metric": metric,
            "occurred_from": occurred_from,
            "occurred_to": occurred_to,
        }

    def get(self, request: Request) -> Response:
        """Return ``{"data": [items], "has_more": bool, "next_cursor": str |
        null}`` (200); pass ``next_cursor`` as ``cursor`` (with the same
        filters) for the next page. 400 ``invalid_parameter`` /
        ``invalid_cursor`` with ``field`` naming the parameter."""
        page = bundle_page_list(tenant=request.user, **self._parameters(request))
        items = self.OutputSerializer(
            page.rows, many=True, context={"request": request}
        ).data
        return Response(
            {
                "data": items,
                "has_more": page.next_cursor is not None,
                "next_cursor": page.next_cursor.encode()
                if page.next_cursor is not None
                else None,
            }
        )


class BundleDetailApi(APIView):
    """Fetch one of the authenticated tenant's bundles by receipt id."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, receipt_id: str) -> Response:
        """Return the stored bundle or 404 ``bundle_not_found`` (a bundle whose
        sequencing was interrupted is sequenced first)."""
        return Response(
            bundle_get_sequenced(receipt_id=receipt_id, tenant=request.user)
        )


class BundleProofStatusApi(APIView):
    """Where one of the tenant's bundles stands with its Groth16 proof."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, receipt_id: str) -> Response:
        """Return ``{"receipt_id", "proof_status", "attempts", "attached_at",
        "error", "billing_proof"}`` or 404 ``bundle_not_found``."""
        return Response(
            bundle_proof_status_get(receipt_id=receipt_id, tenant=request.user)
        )
