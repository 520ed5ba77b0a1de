"""Celery tasks of revocation: call one service each."""

from __future__ import annotations

from celery import shared_task

from revocation.services.fetch import revocation_feed_poll
from revocation.services.snapshots import revocation_snapshot_refresh


@shared_task(name="revocation.tasks.revocation_feed_poll_task")
def revocation_feed_poll_task() -> str:
    """Poll ``VDI_BILLING_REVOCATION_URL`` (no-op when unset or cached);
    return the recorded outcome, or ``"skipped"``."""
    row = revocation_feed_poll()
    return row.outcome if row is not None else "skipped"


@shared_task(name="revocation.tasks.revocation_snapshot_refresh_task")
def revocation_snapshot_refresh_task() -> int | None:
    """Re-sign our snapshot when half its freshness maximum has passed;
    return the new sequence, or ``None``."""
    row = revocation_snapshot_refresh()
    return row.sequence if row is not None else None
