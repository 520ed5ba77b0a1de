"""Reads of credit notes: the file with its log evidence, the tenant's list,
a statement's credit notes and the credit totals shown beside bundles."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.db.models import Count, QuerySet, Sum

from billing.errors import CreditNoteNotFound
from billing.models import Bundle, CreditNote, Tenant
from billing.pagination import BundleCursor
from billing.protocol.credit_note import CREDIT_NOTE_FORMAT
from transparency.selectors import log_evidence_list

__all__ = [
    "CreditNotePage",
    "credit_note_file_get",
    "credit_note_files",
    "credit_note_page_list",
    "credit_note_totals",
    "credit_notes_for_period",
]


def credit_notes_for_period(*, tenant: Tenant, period: str) -> QuerySet[CreditNote]:
    """Return the credit notes that net into ``tenant``'s ``period``
    (``YYYY-MM``), ordered by ``credit_note_id``.

    For the statement (design D3, ``credit_notes``): each row has
    ``credit_note_id``, ``leaf_hash`` (lowercase hex), ``amount_minor``
    (negative, minor units) and ``currency``. Read it under the period's row
    lock (the statement close holds it): ``credit_note_issue`` takes the same
    lock, so no credit note of a period is issued after its close.
    """
    return CreditNote.objects.filter(tenant=tenant, period=period).order_by(
        "credit_note_id"
    )


def credit_note_files(rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Return credit-note files from stored ``(document, leaf_hash)`` pairs:
    ``{"format", "credit_note", "log"?}`` with ``log`` proved against the
    latest checkpoint (left out while the leaf is queued). Three queries for
    the whole list (:func:`transparency.selectors.log_evidence_list`)."""
    evidence = log_evidence_list(leaf_hashes=[leaf for _, leaf in rows])
    files = []
    for document, leaf in rows:
        item: dict[str, Any] = {
            "format": CREDIT_NOTE_FORMAT,
            "credit_note": json.loads(document),
        }
        if leaf in evidence:
            item["log"] = evidence[leaf]
        files.append(item)
    return files


def credit_note_file_get(
    *, credit_note_id: str, tenant: Tenant | None = None
) -> dict[str, Any]:
    """Return the credit-note file (``vdi-billing-credit-note/1``, with
    current log evidence once sequenced); ``tenant`` scopes the lookup.

    Raises:
        CreditNoteNotFound: no such credit note (for this tenant).
    """
    rows = CreditNote.objects.filter(credit_note_id=credit_note_id)
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    row = rows.values_list("document", "leaf_hash").first()
    if row is None:
        raise CreditNoteNotFound(
            f"no credit note {credit_note_id}", field="credit_note_id"
        )
    return credit_note_files([row])[0]


@dataclasses.dataclass(frozen=True)
class CreditNotePage:
    """One page of a tenant's credit notes (:func:`credit_note_page_list`).

    Attributes:
        rows: up to ``limit`` dicts, newest first: ``id``, ``credit_note_id``,
            ``period`` (``YYYY-MM``), ``amount_minor`` (negative, minor
            units), ``currency``, ``reason_code``, ``issued_at`` (aware),
            ``receipt_id`` (the original bundle's).
        next_cursor: the position after the last row when more follow.
    """

    rows: list[dict[str, Any]]
    next_cursor: BundleCursor | None


def credit_note_page_list(
    *,
    tenant: Tenant,
    limit: int,
    after: BundleCursor | None = None,
    period: str | None = None,
) -> CreditNotePage:
    """Return one page of ``tenant``'s credit notes, newest first by
    ``(issued_at, id)`` (keyset pagination on ``creditnote_list_idx``);
    ``period`` keeps those that net into that ``YYYY-MM``."""
    rows = CreditNote.objects.filter(tenant=tenant)
    if after is not None:
        rows = rows.filter(issued_at__lte=after.issued_at).exclude(
            issued_at=after.issued_at, id__gte=after.id
        )
    if period is not None:
        rows = rows.filter(period=period)
    page = list(
        rows.order_by("-issued_at", "-id").values(
            "id",
            "credit_note_id",
            "period",
            "amount_minor",
            "currency",
            "reason_code",
            "issued_at",
            "bundle__receipt_id",
        )[: limit + 1]
    )
    for row in page:
        row["receipt_id"] = row.pop("bundle__receipt_id")
    if len(page) <= limit:
        return CreditNotePage(rows=page, next_cursor=None)
    last = page[limit - 1]
    return CreditNotePage(
        rows=page[:limit],
        next_cursor=BundleCursor(issued_at=last["issued_at"], id=last["id"]),
    )


def credit_note_totals(
    *, bundle: Bundle | None = None, tenant: Tenant | None = None
) -> list[dict[str, Any]]:
    """Return the credit totals of one bundle or one tenant, one dict per
    currency: ``{"currency", "credit_notes" (count), "credit_amount_minor"
    (negative or 0), "amount_minor" (the bundles' charges), "net_amount_minor"
    (their sum)}``, integer minor units; for the admin pages.

    Raises:
        ValueError: neither or both of ``bundle`` and ``tenant`` given.
    """
    if (bundle is None) == (tenant is None):
        raise ValueError("give exactly one of bundle or tenant")
    credits = CreditNote.objects.all()
    charges = Bundle.objects.all()
    if bundle is not None:
        credits = credits.filter(bundle=bundle)
        charges = charges.filter(pk=bundle.pk)
    else:
        credits = credits.filter(tenant=tenant)
        charges = charges.filter(tenant=tenant)
    by_currency: dict[str, dict[str, Any]] = {}
    for currency, total in charges.values_list("currency").annotate(
        total=Sum("amount_minor")
    ):
        by_currency[currency] = {
            "currency": currency,
            "credit_notes": 0,
            "credit_amount_minor": 0,
            "amount_minor": int(total),
        }
    for currency, count, total in credits.values_list("currency").annotate(
        count=Count("id"), total=Sum("amount_minor")
    ):
        entry = by_currency.setdefault(
            currency,
            {
                "currency": currency,
                "credit_notes": 0,
                "credit_amount_minor": 0,
                "amount_minor": 0,
            },
        )
        entry["credit_notes"] = int(count)
        entry["credit_amount_minor"] = int(total)
    for entry in by_currency.values():
        entry["net_amount_minor"] = entry["amount_minor"] + entry["credit_amount_minor"]
    return [by_currency[c] for c in sorted(by_currency)]
