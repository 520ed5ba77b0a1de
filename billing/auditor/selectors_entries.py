"""The auditor UI's entry browser: search the signed log by leaf hash,
receipt id, leaf index or tenant, and name the bundle of each entry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet

from billing.models import Bundle, Tenant
from transparency.models import LogEntry, QueuedEntry
from transparency.selectors_audit.entries import signed_entries

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_RECEIPT = re.compile(r"rcpt_[0-9a-f]{1,64}")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")


@dataclass
class EntrySearch:
    """The result of an entry search.

    Attributes:
        kind: ``all``, ``leaf_hash``, ``receipt_id``, ``tenant``,
            ``leaf_index`` or ``invalid``.
        entries: matching sequenced entries, newest first (lazy).
        message: an explanation when nothing matched or the input was
            malformed ('' otherwise).
        error: True when the input was malformed.
    """

    kind: str
    entries: QuerySet[LogEntry]
    message: str = ""
    error: bool = False


def _leaf_hash_search(entries: QuerySet[LogEntry], query: str) -> EntrySearch:
    """Return the entry with leaf hash ``query`` (64 hex digits, any case)."""
    leaf = query.lower()
    found = entries.filter(leaf_hash=leaf)
    message = ""
    if not found.exists():
        if QueuedEntry.objects.filter(leaf_hash=leaf).exists():
            message = (
                "That leaf is accepted but still queued: it is not yet sequenced "
                "or signed."
            )
        elif LogEntry.objects.filter(leaf_hash=leaf).exists():
            message = (
                "That leaf is sequenced but not yet covered by a signed checkpoint."
            )
        else:
            message = f"No log entry has leaf hash {leaf}."
    return EntrySearch("leaf_hash", found, message)


def _receipt_search(entries: QuerySet[LogEntry], query: str) -> EntrySearch:
    """Return the entry of the bundle with receipt id ``query``."""
    none = entries.none()
    if not _RECEIPT.fullmatch(query):
        return EntrySearch(
            "receipt_id",
            none,
            "A receipt id is 'rcpt_' followed by lowercase hex digits.",
            True,
        )
    leaf = (
        Bundle.objects.filter(receipt_id=query)
        .values_list("leaf_hash", flat=True)
        .first()
    )
    if leaf is None:
        return EntrySearch("receipt_id", none, f"No bundle has receipt id {query}.")
    found = entries.filter(leaf_hash=leaf)
    return EntrySearch(
        "receipt_id",
        found,
        ""
        if found.exists()
        else f"The bundle {query} is not yet in a signed checkpoint.",
    )


def _tenant_search(entries: QuerySet[LogEntry], query: str) -> EntrySearch:
    """Return the entries of the bundles of tenant slug ``query``."""
    tenant = Tenant.objects.filter(slug=query).first()
    if tenant is None:
        return EntrySearch(
            "tenant", entries.none(), f"No tenant has the slug {query!r}."
        )
    leaves = Bundle.objects.filter(tenant=tenant, leaf_hash__isnull=False).values(
        "leaf_hash"
    )
    found = entries.filter(leaf_hash__in=leaves)
    return EntrySearch(
        "tenant",
        found,
        ""
        if found.exists()
        else f"Tenant {query} has no entries in the signed log yet.",
    )


def entry_search(*, query: str = "") -> EntrySearch:
    """Return the entries matching ``query``, newest first.

    ``query`` is one of: empty (every entry under the latest checkpoint), a
    leaf hash (64 hex digits), a receipt id (``rcpt_`` + hex), a leaf index
    (decimal) or a tenant slug (that tenant's bundles' entries). Never raises
    for user input: malformed input yields ``error`` and a ``message``.
    """
    query = query.strip()
    entries = signed_entries()
    if not query:
        return EntrySearch(
            "all", entries, "" if entries.exists() else "The log is empty."
        )
    if len(query) > 200:
        return EntrySearch(
            "invalid",
            entries.none(),
            "The search text is too long (at most 200 characters).",
            True,
        )
    if _HEX64.fullmatch(query):
        return _leaf_hash_search(entries, query)
    if query.startswith("rcpt_"):
        return _receipt_search(entries, query)
    if _DECIMAL.fullmatch(query):
        found = entries.filter(leaf_index=int(query))
        return EntrySearch(
            "leaf_index",
            found,
            "" if found.exists() else f"No signed entry has leaf index {query}.",
        )
    if _SLUG.fullmatch(query):
        return _tenant_search(entries, query)
    return EntrySearch(
        "invalid",
        entries.none(),
        "Search for a leaf hash (64 hex digits), a receipt id (rcpt_…), a leaf "
        "index or a tenant slug (letters, digits, '-' and '_').",
        True,
    )


def entry_bundles_get(*, leaf_hashes: list[str]) -> dict[str, dict[str, str]]:
    """Return ``{leaf_hash: {"receipt_id", "tenant"}}`` for the bundles of
    these leaves (lowercase hex leaf hashes; one query). Leaves without a
    bundle are absent."""
    rows = Bundle.objects.filter(leaf_hash__in=leaf_hashes).values_list(
        "leaf_hash", "receipt_id", "tenant__slug"
    )
    return {h: {"receipt_id": r, "tenant": t} for h, r, t in rows}


__all__ = ["EntrySearch", "entry_bundles_get", "entry_search"]
