"""The auditor web UI: server-rendered, read-only pages under ``/audit/``.

For staff and members of the ``auditors`` group (:class:`AuditorRequiredMixin`);
anonymous visitors are sent to ``/audit/login/``, other signed-in users get a
403 page. Views only parse the request, call a selector of
:mod:`billing.auditor` (bundles, search, trust),
:mod:`transparency.selectors_audit` (log-only verdicts, given the trust) or
:mod:`audittrail.selectors` (the staff audit trail and its verdict) and
render a template in ``templates/audit/``; every verdict comes from the
protocol verifiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views import View

from audittrail.protocol.errors import AuditHeadFormatError
from audittrail.selectors import (
    audit_head_get,
    audit_record_list,
    audit_records_iter,
    audit_trail_verify,
)
from billing.auditor.selectors_bundles import entry_audit_get
from billing.auditor.selectors_entries import entry_bundles_get, entry_search
from billing.auditor.selectors_trust import audit_trust_get
from kernel.protocol.errors import MeterproofError
from transparency.selectors import checkpoint_latest
from transparency.selectors_audit.checkpoints import (
    checkpoint_history,
    checkpoint_sizes,
    head_audit_get,
)
from transparency.selectors_audit.entries import (
    consistency_audit_get,
    entry_neighbours,
    tree_size_param,
)
from transparency.services.auditors import AUDITORS_GROUP

ENTRIES_PER_PAGE = 50
CHECKPOINTS_PER_PAGE = 50
TRAIL_RECORDS_PER_PAGE = 50


def is_auditor(user: Any) -> bool:
    """Return True for an active staff user or a member of ``auditors``."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_staff or user.groups.filter(name=AUDITORS_GROUP).exists())


class AuditorRequiredMixin(LoginRequiredMixin):
    """Admit staff and ``auditors`` members; send anonymous users to the
    auditor login page and answer others with a 403 page."""

    login_url = reverse_lazy("audit:login")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """Check access, then dispatch as usual."""
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not is_auditor(request.user):
            return render(request, "audit/forbidden.html", status=403)
        return super().dispatch(request, *args, **kwargs)


class AuditLoginView(LoginView):
    """Sign-in for auditors (the admin login only admits staff)."""

    template_name = "audit/login.html"
    redirect_authenticated_user = False
    next_page = reverse_lazy("audit:head")


def _page_number(request: HttpRequest) -> str:
    return request.GET.get("page", "1")


class HeadView(AuditorRequiredMixin, View):
    """``/audit/``: the log head, its signed note, cosignatures, freshness."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Render the head page."""
        return render(
            request,
            "audit/head.html",
            {"nav": "head", "head": head_audit_get(trust=audit_trust_get())},
        )


class CheckpointListView(AuditorRequiredMixin, View):
    """``/audit/checkpoints/``: every signed checkpoint, newest first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Render one page of the history."""
        page = Paginator(checkpoint_history(), CHECKPOINTS_PER_PAGE).get_page(
            _page_number(request)
        )
        latest = checkpoint_latest()
        return render(
            request,
            "audit/checkpoints.html",
            {
                "nav": "checkpoints",
                "page": page,
                "latest_id": latest.id if latest else None,
            },
        )


class EntryListView(AuditorRequiredMixin, View):
    """``/audit/entries/?q=``: the entry browser and search."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Render one page of the matching entries (newest first)."""
        query = request.GET.get("q", "")
        result = entry_search(query=query)
        page = Paginator(result.entries, ENTRIES_PER_PAGE).get_page(
            _page_number(request)
        )
        entries = list(page.object_list)
        bundles = entry_bundles_get(leaf_hashes=[e.leaf_hash for e in entries])
        rows = [(e, bundles.get(e.leaf_hash)) for e in entries]
        return render(
            request,
            "audit/entries.html",
            {
                "nav": "entries",
                "query": query.strip(),
                "result": result,
                "page": page,
                "rows": rows,
            },
            status=400 if result.error else 200,
        )


class EntryDetailView(AuditorRequiredMixin, View):
    """``/audit/entries/<leaf_index>/``: one entry, its bundle, its proof and
    the verdicts."""

    def get(self, request: HttpRequest, leaf_index: int) -> HttpResponse:
        """Render the entry, or a not-found page."""
        try:
            audit = entry_audit_get(leaf_index=leaf_index)
        except MeterproofError as exc:
            return render(
                request,
                "audit/not_found.html",
                {"nav": "entries", "message": exc.message},
                status=404,
            )
        previous, following = entry_neighbours(leaf_index=leaf_index)
        return render(
            request,
            "audit/entry_detail.html",
            {"nav": "entries", "audit": audit, "previous": previous, "next": following},
        )


class ConsistencyView(AuditorRequiredMixin, View):
    """``/audit/consistency/?first=&second=``: a consistency proof between two
    signed checkpoints and its verdict."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Render the picker and, when both sizes are given, the verdict."""
        sizes = checkpoint_sizes()
        context: dict[str, Any] = {"nav": "consistency", "sizes": sizes}
        status = 200
        try:
            first = tree_size_param(request.GET.get("first"), "first")
            second = tree_size_param(request.GET.get("second"), "second")
        except MeterproofError as exc:
            context["error"] = exc.message
            return render(request, "audit/consistency.html", context, status=400)
        if first is None and second is None and sizes:
            # A useful default: the oldest non-empty size against the latest.
            nonzero = [s for s in sizes if s > 0]
            first = nonzero[-1] if nonzero else None
        context["first"], context["second"] = (
            first,
            second if second is not None else (sizes[0] if sizes else None),
        )
        if first is not None:
            try:
                context["audit"] = consistency_audit_get(
                    first=first, second=second, trust=audit_trust_get()
                )
            except MeterproofError as exc:
                context["error"] = exc.message
                status = 400
        elif request.GET.get("second"):
            context["error"] = "Pick the first (older) checkpoint too."
            status = 400
        return render(request, "audit/consistency.html", context, status=status)


class StaffTrailView(AuditorRequiredMixin, View):
    """``/audit/trail/``: the staff audit trail, newest first, with its head
    (``seq:record_hash``, to pin) and, on ``?verify=1`` (optionally with
    ``&expect_head=SEQ:HASH``), the chain verdict."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Render one page of records (and the verdict when asked)."""
        page = Paginator(audit_record_list(), TRAIL_RECORDS_PER_PAGE).get_page(
            _page_number(request)
        )
        rows = [
            (
                record,
                json.dumps(record.before, indent=2, ensure_ascii=False),
                json.dumps(record.after, indent=2, ensure_ascii=False),
            )
            for record in page.object_list
        ]
        context: dict[str, Any] = {
            "nav": "trail",
            "page": page,
            "rows": rows,
            "head": audit_head_get(),
            "expect_head": request.GET.get("expect_head", "").strip(),
        }
        status = 200
        if request.GET.get("verify"):
            try:
                context["report"] = audit_trail_verify(
                    expect_head=context["expect_head"] or None
                )
            except AuditHeadFormatError as exc:
                context["error"] = exc.message
                status = 400
        return render(request, "audit/trail.html", context, status=status)


def _json_lines() -> Iterator[str]:
    for record in audit_records_iter():
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


class StaffTrailExportView(AuditorRequiredMixin, View):
    """``/audit/trail.jsonl``: the whole staff audit trail as JSON lines
    (``seq`` order, the format ``manage.py audit_export`` writes), streamed,
    for ``meterproof verify-audit``. The ``X-Audit-Head`` header is the head
    when the response started."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        """Stream the export."""
        head = audit_head_get()
        response = StreamingHttpResponse(
            _json_lines(), content_type="application/jsonl; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="audit-trail.jsonl"'
        response["X-Audit-Head"] = str(head) if head else ""
        return response
