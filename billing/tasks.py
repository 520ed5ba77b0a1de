"""Celery tasks of billing: load ids, call one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from billing.keyring import get_keyring
from billing.services.attest import reservations_reclaim_expired
from transparency.services import log_tick


@shared_task(name="billing.tasks.reservations_reclaim_expired_task")
def reservations_reclaim_expired_task() -> int:
    """Delete expired replay reservations left by crashed attests; return the count."""
    return reservations_reclaim_expired()


@shared_task(name="billing.tasks.log_tick_task")
def log_tick_task() -> dict[str, int]:
    """Sequence leaves left queued and re-sign a stale checkpoint (``log_tick``
    with this server's log-operator key); return ``{"sequenced", "resigned"}``."""
    keyring = get_keyring()
    return log_tick(
        signer=keyring.log_signer,
        origin=keyring.log_origin,
        interval_seconds=settings.VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC,
    )
