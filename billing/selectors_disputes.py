"""Reads of disputes: one dispute, the tenant's cursor-paginated list, and
whether the strict profile can run (a revocation snapshot is available).

Split from :mod:`billing.selectors` by purpose (CONVENTIONS.md §1).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import Q, QuerySet

from billing.errors import DisputeNotFound
from billing.models import Dispute, Tenant
from billing.pagination import BundleCursor
from billing.protocol.verify.options import PROFILE_STRICT
from billing.selectors import verification_options_get

__all__ = [
    "DisputeCursor",
    "DisputePage",
    "dispute_get",
    "dispute_page_list",
    "dispute_queue",
    "dispute_strict_problem",
]


class DisputeCursor(BundleCursor):
    """A position in a tenant's dispute list: the bundle list's cursor
    spelling (:class:`~billing.pagination.BundleCursor`), whose
    ``issued_at`` holds the last dispute's ``opened_at`` and ``id`` its
    primary key; the page continues with the disputes strictly before it,
    newest first."""


@dataclasses.dataclass(frozen=True)
class DisputePage:
    """One page of a tenant's disputes (:func:`dispute_page_list`).

    Attributes:
        rows: up to ``limit`` disputes (bundle joined), newest first.
        next_cursor: the position after the last row when more rows follow,
            else ``None``.
    """

    rows: list[Dispute]
    next_cursor: DisputeCursor | None


def dispute_get(*, dispute_id: str, tenant: Tenant | None = None) -> Dispute:
    """Return the dispute ``dispute_id`` (bundle, tenant and evidence files
    joined), of ``tenant`` when given.

    Raises:
        DisputeNotFound: (``dispute_not_found``) no such dispute, or one of
            another tenant (the answer does not say which).
    """
    rows = Dispute.objects.select_related("bundle", "tenant").prefetch_related(
        "evidence_files"
    )
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    dispute = rows.filter(dispute_id=dispute_id).first()
    if dispute is None:
        raise DisputeNotFound(
            f"no dispute {dispute_id} for this tenant", field="dispute_id"
        )
    return dispute


def dispute_page_list(
    *,
    tenant: Tenant,
    limit: int,
    after: DisputeCursor | None = None,
    state: str | None = None,
) -> DisputePage:
    """Return one page of ``tenant``'s disputes, newest first by
    ``(opened_at, id)`` (keyset pagination on ``dispute_tenant_list_idx``).

    Args:
        tenant: whose disputes; no other tenant's row is ever read.
        limit: rows per page, >= 1 (the API bounds it to 100).
        after: continue after this position (``None``: the newest first).
        state: only disputes in this state (a ``Dispute.State`` value).
    """
    rows = Dispute.objects.filter(tenant=tenant).select_related("bundle")
    if after is not None:
        rows = rows.filter(opened_at__lte=after.issued_at).filter(
            Q(opened_at__lt=after.issued_at) | Q(id__lt=after.id)
        )
    if state is not None:
        rows = rows.filter(state=state)
    page = list(rows.order_by("-opened_at", "-id")[: limit + 1])
    if len(page) <= limit:
        return DisputePage(rows=page, next_cursor=None)
    last = page[limit - 1]
    return DisputePage(
        rows=page[:limit],
        next_cursor=DisputeCursor(issued_at=last.opened_at, id=last.id),
    )


def dispute_queue() -> QuerySet[Dispute]:
    """Return every dispute for the staff queue, the earliest evidence
    deadline first (then the oldest), tenant and bundle joined."""
    return Dispute.objects.select_related("tenant", "bundle").order_by(
        "evidence_due_by", "id"
    )


def dispute_strict_problem() -> dict[str, Any] | None:
    """Return why the strict profile cannot run now (``{"code",
    "message"}``: no verified revocation snapshot), or ``None`` when a
    snapshot is available (the staff "verify now" offers strict then)."""
    options, meta = verification_options_get(profile=PROFILE_STRICT)
    if options.get("revocation") is not None:
        return None
    problem = meta.get("last_error") or {
        "code": "revocation_snapshot_missing",
        "message": "no revocation snapshot",
    }
    return {"code": str(problem["code"]), "message": str(problem["message"])}
