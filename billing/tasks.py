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


@shared_task(name="billing.tasks.billing_proofs_attach_task")
def billing_proofs_attach_task(
    receipt_ids: list[str] | None = None, older_than_seconds: int = 0
) -> dict[str, int]:
    """Attach detached Groth16 proofs to pending bundles (async proving).

    With ``receipt_ids`` (queued by attest): those bundles. Without (the beat
    sweep): pending bundles issued at least ``older_than_seconds`` ago.
    Returns ``billing_proofs_attach``'s counts.
    """
    from billing.services.proofs import billing_proofs_attach

    return billing_proofs_attach(
        receipt_ids=receipt_ids, older_than_seconds=older_than_seconds
    )
