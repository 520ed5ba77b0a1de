"""Celery tasks of billing: load ids, call one service.

The top of the app: tasks import services, services never import tasks. The
one service that queues a task (:func:`billing_proofs_dispatch`, after an
async attest or a staff retry) reaches :func:`billing_proofs_attach_task`
through the dispatcher registered at the bottom of this module, which
``BillingConfig.ready`` imports in every Django process.
"""

from __future__ import annotations

from celery import shared_task

from billing.keyring import get_keyring
from billing.services.proofs import (
    billing_proofs_attach,
    billing_proofs_dispatcher_set,
)
from billing.services.replay import reservations_reclaim_expired
from billing.services.statements import statements_close_due
from transparency.services import log_tick
from transparency.settings import transparency_settings


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
        interval_seconds=transparency_settings.log_checkpoint_interval_seconds,
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
    return billing_proofs_attach(
        receipt_ids=receipt_ids, older_than_seconds=older_than_seconds
    )


@shared_task(name="billing.tasks.statements_close_due_task")
def statements_close_due_task() -> list[str]:
    """Close the periods past their grace days and issue their statements;
    return the new statement ids (``statements_close_due``)."""
    return statements_close_due(actor="system:beat")


def billing_proofs_attach_enqueue(receipt_ids: list[str]) -> object:
    """Queue :func:`billing_proofs_attach_task` for ``receipt_ids``; return
    Celery's ``AsyncResult`` (``EagerResult`` when
    ``CELERY_TASK_ALWAYS_EAGER``).

    Raises:
        Any broker error of ``delay`` (``billing_proofs_dispatch`` logs it).
    """
    return billing_proofs_attach_task.delay(receipt_ids=receipt_ids)


billing_proofs_dispatcher_set(billing_proofs_attach_enqueue)
