"""The tenant's credit notes: the cursor-paginated list and one credit-note
file (``/api/vdi/billing/credit-notes``)."""

from __future__ import annotations

import re
from typing import Any, Final

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication
from billing.errors import InvalidParameter
from billing.pagination import BundleCursor
from billing.selectors_credit_notes import credit_note_page_list
from billing.services.credit_notes import credit_note_file_get_sequenced
from kernel.protocol.timefmt import format_rfc3339_utc

_PERIOD_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_LIMIT_RE: Final = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)


class CreditNoteListApi(APIView):
    """List the authenticated tenant's credit notes, newest first, with an
    opaque cursor (``data``, ``has_more``, ``next_cursor`` as the bundle
    list)."""

    authentication_classes = [TenantApiKeyAuthentication]
    #: Rows per page without ``limit`` / the largest ``limit`` accepted.
    default_limit = 50
    max_limit = 500
    parameters = ("period", "cursor", "limit")

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        """One credit note as the list shows it (a row of
        ``billing.selectors_credit_notes.CreditNotePage.rows``); ``url``
        fetches the credit-note file."""

        credit_note_id = serializers.CharField()
        period = serializers.CharField()
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        reason_code = serializers.CharField()
        receipt_id = serializers.CharField()
        issued_at = serializers.SerializerMethodField()
        url = serializers.SerializerMethodField()

        def get_issued_at(self, row: dict[str, Any]) -> str:
            """Return ``issued_at`` as RFC 3339 UTC."""
            return format_rfc3339_utc(row["issued_at"])

        def get_url(self, row: dict[str, Any]) -> str:
            """Return the absolute URL of ``GET .../credit-notes/<id>``."""
            path = reverse("billing-credit-note", args=[row["credit_note_id"]])
            return str(self.context["request"].build_absolute_uri(path))

    def _parameters(self, request: Request) -> dict[str, Any]:
        """Return the ``credit_note_page_list`` keyword arguments.

        Raises:
            InvalidParameter: (``invalid_parameter``) an unknown, repeated or
                empty parameter, a ``period`` not ``YYYY-MM``, a ``limit``
                not an integer from 1 to 500.
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
        period = values.get("period")
        if period is not None and not _PERIOD_RE.fullmatch(period):
            raise InvalidParameter(
                f"period must be a billing month YYYY-MM, found {period!r}",
                field="period",
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
            "period": period,
        }

    def get(self, request: Request) -> Response:
        """Return ``{"data": [items], "has_more", "next_cursor"}`` (200);
        items ``{credit_note_id, period, amount_minor (negative, minor
        units), currency, reason_code, receipt_id, issued_at, url}``. 400
        ``invalid_parameter`` / ``invalid_cursor`` naming the parameter."""
        page = credit_note_page_list(tenant=request.user, **self._parameters(request))
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


class CreditNoteDetailApi(APIView):
    """Fetch one of the authenticated tenant's credit notes: the
    ``vdi-billing-credit-note/1`` file ``meterproof verify`` checks."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, credit_note_id: str) -> Response:
        """Return the credit-note file (with log evidence once sequenced) or
        404 ``credit_note_not_found`` (another tenant's id included)."""
        return Response(
            credit_note_file_get_sequenced(
                credit_note_id=credit_note_id, tenant=request.user
            )
        )
