"""Reads of statements: the tenant's list, one statement file (with its log
evidence recomputed on read, like a bundle's), its lines and its bundles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q

from billing.errors import StatementNotFound
from billing.models import Bundle, CreditNote, Statement, Tenant
from billing.pagination import BundleCursor
from billing.protocol.statement import build_statement_file
from billing.protocol.statement.document import STATEMENT_ID_RE
from billing.protocol.tariff import format_amount
from billing.selectors import bundle_documents
from transparency.selectors import log_evidence_list

__all__ = [
    "StatementPage",
    "statement_bundle_documents",
    "statement_bundle_rows",
    "statement_credit_note_rows",
    "statement_file_get",
    "statement_get",
    "statement_page_list",
    "statement_view_get",
]


@dataclass(frozen=True)
class StatementPage:
    """One page of a tenant's statements, newest first.

    Attributes:
        rows: the :class:`~billing.models.Statement` rows.
        next_cursor: the position after the last row when more follow.
    """

    rows: list[Statement]
    next_cursor: BundleCursor | None


def statement_page_list(
    *, tenant: Tenant, limit: int, after: BundleCursor | None = None
) -> StatementPage:
    """Return one page of ``tenant``'s statements, newest first by
    ``(closed_at, id)`` (keyset pagination on ``statement_tenant_list_idx``;
    the cursor's ``issued_at`` is the statement's ``closed_at``)."""
    rows = Statement.objects.filter(tenant=tenant)
    if after is not None:
        rows = rows.filter(closed_at__lte=after.issued_at).filter(
            Q(closed_at__lt=after.issued_at) | Q(id__lt=after.id)
        )
    page = list(rows.order_by("-closed_at", "-id").defer("document")[: limit + 1])
    if len(page) <= limit:
        return StatementPage(rows=page, next_cursor=None)
    last = page[limit - 1]
    return StatementPage(
        rows=page[:limit],
        next_cursor=BundleCursor(issued_at=last.closed_at, id=last.id),
    )


def statement_get(*, statement_id: str, tenant: Tenant | None = None) -> Statement:
    """Return the statement ``statement_id`` (of ``tenant`` when given).

    Raises:
        StatementNotFound: (404) no such statement, or an id outside the
            grammar ``stmt_`` + 24 lowercase hex digits.
    """
    if not STATEMENT_ID_RE.fullmatch(statement_id):
        raise StatementNotFound(
            "a statement id is 'stmt_' and 24 lowercase hex digits",
            field="statement_id",
        )
    rows = Statement.objects.filter(statement_id=statement_id)
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    found = rows.select_related("tenant").first()
    if found is None:
        raise StatementNotFound(f"no statement {statement_id}", field="statement_id")
    return found


def statement_file_get(*, statement: Statement) -> dict[str, Any]:
    """Return the statement file ``{"format", "statement", "log"}``: the
    stored signed statement and its leaf's inclusion evidence against the
    latest checkpoint (no ``log`` member while the leaf is queued)."""
    evidence = log_evidence_list(leaf_hashes=[statement.leaf_hash])
    return build_statement_file(
        json.loads(statement.document), evidence.get(statement.leaf_hash)
    )


def statement_bundle_rows(*, statement: Statement) -> Iterator[dict[str, Any]]:
    """Yield the statement's bundles as ``{"number", "receipt_id", "metric",
    "quantity", "amount_minor", "leaf_hash"}`` (``number`` ``None`` for a
    ``vdi-billing/2`` bundle), numbered ones in number order first; streamed
    (one query, chunked)."""
    rows = (
        Bundle.objects.filter(
            tenant_id=statement.tenant_id, meter_event__window=statement.period
        )
        .order_by(F("sequence_number").asc(nulls_last=True), "receipt_id")
        .values(
            "receipt_id",
            "amount_minor",
            "leaf_hash",
            number=F("sequence_number"),
            metric=F("meter_event__metric"),
            quantity=F("meter_event__quantity"),
        )
    )
    yield from rows.iterator(chunk_size=5000)


def statement_bundle_documents(
    *, tenant: Tenant, period: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(file name, bundle)`` for every bundle of ``tenant``'s
    ``period`` with current log evidence, in number order (then the
    ``vdi-billing/2`` ones by receipt id); file names sort in that order
    (``000000000001-rcpt_….json``, ``v2-rcpt_….json``). Chunks of 500
    bundles share one evidence query."""
    rows = (
        Bundle.objects.filter(tenant=tenant, meter_event__window=period)
        .order_by(F("sequence_number").asc(nulls_last=True), "receipt_id")
        .values_list(
            "sequence_number", "receipt_id", "document", "leaf_hash", "billing_proof"
        )
    )
    chunk: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=500):
        chunk.append(row)
        if len(chunk) >= 500:
            yield from _documents(chunk)
            chunk = []
    yield from _documents(chunk)


def _documents(
    chunk: list[tuple[Any, ...]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Return the chunk's ``(file name, bundle)`` pairs (one evidence query,
    :func:`billing.selectors.bundle_documents`)."""
    documents = bundle_documents(row[2:] for row in chunk)
    for (number, receipt_id, *_), document in zip(chunk, documents, strict=True):
        name = f"{number:012d}-{receipt_id}.json" if number else f"v2-{receipt_id}.json"
        yield name, document


def statement_credit_note_rows(*, statement: Statement) -> list[dict[str, Any]]:
    """Return the credit notes the statement lists, in its order (by
    ``credit_note_id``), one dict each: ``credit_note_id``, ``receipt_id``
    (the original bundle's), ``reason_code``, ``reason_text``,
    ``amount_minor`` (negative, integer minor units, as signed in the
    statement) and ``leaf_hash`` (lowercase hex). One query."""
    listed = json.loads(statement.document)["credit_notes"]
    details = {
        row["credit_note_id"]: row
        for row in CreditNote.objects.filter(
            tenant_id=statement.tenant_id,
            credit_note_id__in=[note["credit_note_id"] for note in listed],
        ).values(
            "credit_note_id",
            "reason_code",
            "reason_text",
            receipt_id=F("bundle__receipt_id"),
        )
    }
    rows = []
    for note in listed:
        detail = details.get(note["credit_note_id"], {})
        rows.append(
            {
                "credit_note_id": note["credit_note_id"],
                "receipt_id": detail.get("receipt_id", ""),
                "reason_code": detail.get("reason_code", ""),
                "reason_text": detail.get("reason_text", ""),
                "amount_minor": note["amount_minor"],
                "leaf_hash": note["leaf_hash"],
            }
        )
    return rows


def statement_view_get(*, statement: Statement) -> dict[str, Any]:
    """Return the printable page's context: the signed statement's members
    with amounts also formatted in major units (``format_amount``), its log
    position (``leaf_index``, ``tree_size``, or ``None`` while queued), the
    statement id and its credit notes
    (:func:`statement_credit_note_rows`, each with ``amount`` formatted)."""
    document = statement_file_get(statement=statement)
    signed = document["statement"]
    currency = signed["currency"]
    lines = [
        {
            **line,
            "amount": format_amount(line["amount_minor"], currency),
            "events_amount": format_amount(line["events_amount_minor"], currency),
            "discount": format_amount(
                line["events_amount_minor"] - line["amount_minor"], currency
            ),
        }
        for line in signed["lines"]
    ]
    notes = [
        {**note, "amount": format_amount(note["amount_minor"], currency)}
        for note in statement_credit_note_rows(statement=statement)
    ]
    return {
        "statement": signed,
        "statement_id": statement.statement_id,
        "lines": lines,
        "credit_notes": notes,
        "total": format_amount(signed["amount_minor"], currency),
        "log": document.get("log"),
    }
