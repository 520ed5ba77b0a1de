"""The tenant's statements (``/api/vdi/billing/statements``): the cursor
list, one statement as JSON (the statement file), CSV (its lines) or a
printable HTML page, the CSV of its bundles and its credit notes (JSON or
CSV)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication
from billing.errors import InvalidParameter
from billing.models import Statement
from billing.pagination import BundleCursor
from billing.selectors_statements import (
    statement_bundle_rows,
    statement_credit_note_rows,
    statement_file_get,
    statement_get,
    statement_page_list,
    statement_view_get,
)
from kernel.protocol.timefmt import format_rfc3339_utc

_LIMIT_RE: Final = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)
#: Columns of ``.csv`` (the lines) and ``.../bundles.csv``.
LINE_COLUMNS: Final = (
    "metric",
    "tariff_id",
    "tariff_version",
    "tariff_hash",
    "events",
    "quantity",
    "amount_minor",
    "events_amount_minor",
)
CREDIT_NOTE_COLUMNS: Final = (
    "credit_note_id",
    "receipt_id",
    "reason_code",
    "reason_text",
    "amount_minor",
    "leaf_hash",
)
BUNDLE_COLUMNS: Final = (
    "number",
    "receipt_id",
    "metric",
    "quantity",
    "amount_minor",
    "leaf_hash",
)


class _PassthroughRenderer(BaseRenderer):
    """Lets content negotiation accept ``text/html`` and ``text/csv``
    clients; the views answer those with a ready ``HttpResponse``."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        """Return ``data`` as bytes (only error bodies reach here)."""
        return JSONRenderer().render(data)


class _HtmlRenderer(_PassthroughRenderer):
    """``text/html`` for the printable page."""

    media_type = "text/html"
    format = "html"


class _CsvRenderer(_PassthroughRenderer):
    """``text/csv`` for the CSV exports."""

    media_type = "text/csv"
    format = "csv"


class StatementListApi(APIView):
    """List the authenticated tenant's statements, newest first by
    ``closed_at``, with an opaque cursor (``data``, ``has_more``,
    ``next_cursor``)."""

    authentication_classes = [TenantApiKeyAuthentication]
    default_limit = 50
    max_limit = 500

    class OutputSerializer(serializers.Serializer[Statement]):
        """One statement as the list shows it; ``url`` fetches its file."""

        statement_id = serializers.CharField()
        period = serializers.CharField()
        currency = serializers.CharField()
        amount_minor = serializers.IntegerField()
        receipts_count = serializers.IntegerField()
        closed_at = serializers.SerializerMethodField()
        url = serializers.SerializerMethodField()

        def get_closed_at(self, row: Statement) -> str:
            """Return ``closed_at`` as RFC 3339 UTC."""
            return format_rfc3339_utc(row.closed_at)

        def get_url(self, row: Statement) -> str:
            """Return the absolute URL of ``GET .../statements/<id>``."""
            path = reverse("billing-statement", args=[row.statement_id])
            return str(self.context["request"].build_absolute_uri(path))

    def get(self, request: Request) -> Response:
        """Return ``{"data", "has_more", "next_cursor"}`` (200); 400
        ``invalid_parameter`` / ``invalid_cursor`` naming the parameter."""
        limit, after = self.default_limit, None
        for name in request.query_params:
            values = request.query_params.getlist(name)
            if name not in ("cursor", "limit"):
                raise InvalidParameter(
                    f"unknown parameter {name!r}; expected cursor or limit",
                    field=name,
                )
            if len(values) != 1 or not values[0]:
                raise InvalidParameter(
                    f"{name} must be given once, non-empty", field=name
                )
        if "limit" in request.query_params:
            text = request.query_params["limit"]
            if not _LIMIT_RE.fullmatch(text) or int(text) > self.max_limit:
                raise InvalidParameter(
                    f"limit must be an integer from 1 to {self.max_limit}, "
                    f"found {text!r}",
                    field="limit",
                )
            limit = int(text)
        if "cursor" in request.query_params:
            after = BundleCursor.decode(request.query_params["cursor"])
        page = statement_page_list(tenant=request.user, limit=limit, after=after)
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


def _csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Return RFC 4180 CSV text (CRLF line ends) of ``rows``."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


class StatementDetailApi(APIView):
    """One of the tenant's statements: ``.json`` (or no suffix) the
    statement file, ``.csv`` its lines, ``.html`` the printable page."""

    authentication_classes = [TenantApiKeyAuthentication]
    renderer_classes = [JSONRenderer, _HtmlRenderer, _CsvRenderer]

    def get(
        self, request: Request, statement_id: str, suffix: str | None = None
    ) -> Response | HttpResponse:
        """Return the statement in the suffix's format, or 404
        ``statement_not_found`` (also for an id outside the grammar)."""
        statement = statement_get(statement_id=statement_id, tenant=request.user)
        if suffix == ".csv":
            signed = statement_file_get(statement=statement)["statement"]
            text = _csv_text(
                [
                    LINE_COLUMNS,
                    *([line[c] for c in LINE_COLUMNS] for line in signed["lines"]),
                ]
            )
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="{statement.statement_id}.csv"'
            )
            return response
        if suffix == ".html":
            html = render_to_string(
                "billing/statement.html", statement_view_get(statement=statement)
            )
            return HttpResponse(html, content_type="text/html; charset=utf-8")
        return Response(statement_file_get(statement=statement))


class StatementBundlesCsvApi(APIView):
    """The bundles of one of the tenant's statements as CSV, streamed:
    ``number, receipt_id, metric, quantity, amount_minor, leaf_hash``
    (numbered bundles in number order, then the ``vdi-billing/2`` ones with
    an empty number)."""

    authentication_classes = [TenantApiKeyAuthentication]
    renderer_classes = [JSONRenderer, _CsvRenderer]

    def get(self, request: Request, statement_id: str) -> StreamingHttpResponse:
        """Stream the CSV, or 404 ``statement_not_found``."""
        statement = statement_get(statement_id=statement_id, tenant=request.user)

        def lines() -> Iterator[str]:
            yield _csv_text([BUNDLE_COLUMNS])
            batch: list[list[Any]] = []
            for row in statement_bundle_rows(statement=statement):
                batch.append(["" if row[c] is None else row[c] for c in BUNDLE_COLUMNS])
                if len(batch) >= 1000:
                    yield _csv_text(batch)
                    batch = []
            if batch:
                yield _csv_text(batch)

        response = StreamingHttpResponse(
            lines(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{statement.statement_id}-bundles.csv"'
        )
        return response


class StatementCreditNotesApi(APIView):
    """The credit notes one of the tenant's statements nets, one line each:
    ``credit_note_id``, ``receipt_id`` (the original bundle's),
    ``reason_code``, ``reason_text``, ``amount_minor`` (negative, integer
    minor units) and ``leaf_hash``, in the statement's order. ``.csv``: a
    header and one row per credit note; otherwise JSON ``{"statement_id",
    "currency", "credit_notes": [...]}`` (each with the ``url`` of its
    credit-note file)."""

    authentication_classes = [TenantApiKeyAuthentication]
    renderer_classes = [JSONRenderer, _CsvRenderer]

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        """One credit note of the statement."""

        credit_note_id = serializers.CharField()
        receipt_id = serializers.CharField()
        reason_code = serializers.CharField()
        reason_text = serializers.CharField(allow_blank=True)
        amount_minor = serializers.IntegerField()
        leaf_hash = serializers.CharField()
        url = serializers.SerializerMethodField()

        def get_url(self, row: dict[str, Any]) -> str:
            """Return the absolute URL of ``GET .../credit-notes/<id>``."""
            path = reverse("billing-credit-note", args=[row["credit_note_id"]])
            return str(self.context["request"].build_absolute_uri(path))

    def get(
        self, request: Request, statement_id: str, suffix: str | None = None
    ) -> Response | HttpResponse:
        """Return the credit notes as JSON or CSV, or 404
        ``statement_not_found``."""
        statement = statement_get(statement_id=statement_id, tenant=request.user)
        rows = statement_credit_note_rows(statement=statement)
        if suffix == ".csv":
            text = _csv_text(
                [
                    CREDIT_NOTE_COLUMNS,
                    *([r[c] for c in CREDIT_NOTE_COLUMNS] for r in rows),
                ]
            )
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="{statement.statement_id}-credit-notes.csv"'
            )
            return response
        items = self.OutputSerializer(rows, many=True, context={"request": request})
        return Response(
            {
                "statement_id": statement.statement_id,
                "currency": statement.currency,
                "credit_notes": items.data,
            }
        )
