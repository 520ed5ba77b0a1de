"""Celery tasks of billing: load ids, call one service."""

from __future__ import annotations

from celery import shared_task

from billing.services.attest import reservations_reclaim_expired


@shared_task(name="billing.tasks.reservations_reclaim_expired_task")
def reservations_reclaim_expired_task() -> int:
    """Delete expired replay reservations left by crashed attests; return the count."""
    return reservations_reclaim_expired()
