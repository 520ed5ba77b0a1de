"""Async proving: attach detached Groth16 ``billing_proof`` members to bundles.

With ``VDI_BILLING_INCIRCUIT_BINDING=true`` and ``VDI_BILLING_PROOF_MODE=async``
attest signs and logs the attestation at once (``Bundle.proof_status =
pending``) and queues ``billing.tasks.billing_proofs_attach_task`` with the new
receipt ids (:func:`billing_proofs_dispatch`, through the dispatcher that
``billing.tasks`` registers with :func:`billing_proofs_dispatcher_set`: tasks
import services, services never import tasks). The task calls
:func:`billing_proofs_attach`, which proves the
pending bundles (in parallel over the prover's thread pool) and stores each
proof in ``Bundle.billing_proof`` (``attached``). Bundle reads then serve it as
the bundle's top-level ``billing_proof`` member (``billing.selectors``), outside
the issuer's signature: a Groth16 proof verifies only against its public
signal, which every verifier recomputes from the signed ``billing_commitments``.

Crash safety: nothing is lost if the broker drops the message or a worker dies
mid-proof; the bundle stays ``pending`` and the beat sweep
(``billing_proofs_attach_task`` without ids, every 30 s) picks up pending
bundles older than a grace period. A worker first claims the bundles it
proves (``proof_claimed_until``, a lease that a crashed worker's claim
outlives by at most ``PROOF_CLAIM_SECONDS``), so workers and the sweep prove
disjoint sets; a proof is stored by a conditional update, once. A bundle
whose proving fails ``VDI_BILLING_PROOF_MAX_ATTEMPTS`` times is
``failed`` with the last error; staff retry it from the admin
(:func:`billing_proofs_retry`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from billing.models import Bundle
from billing.settings import billing_settings
from circuits.artifacts import require_artifacts
from circuits.prover import get_prover
from kernel.protocol.errors import MeterproofError, ProtocolError

logger = logging.getLogger(__name__)

__all__ = [
    "ProofsDispatcher",
    "billing_proofs_attach",
    "billing_proofs_dispatch",
    "billing_proofs_dispatcher_set",
    "billing_proofs_retry",
]

#: Hands receipt ids to a worker (``billing_proofs_attach_task.delay``); may
#: raise on a broker failure.
ProofsDispatcher = Callable[[list[str]], object]

# Set once by billing.tasks at import (BillingConfig.ready imports it).
_dispatcher: ProofsDispatcher | None = None

_PENDING = Bundle.ProofStatus.PENDING


def billing_proofs_attach(
    *,
    receipt_ids: list[str] | None = None,
    limit: int | None = None,
    older_than_seconds: int = 0,
    now: datetime | None = None,
) -> dict[str, int]:
    """Prove pending bundles and store their detached ``billing_proof``.

    Args:
        receipt_ids: these bundles (the ids attest queued), all of them, in
            rounds of ``limit``; ``None`` sweeps one round of the oldest
            pending bundles.
        limit: bundles per round (default ``VDI_BILLING_PROOF_BATCH``).
        older_than_seconds: sweep only bundles issued at least this many
            seconds ago (the beat sweep leaves fresh ones to the worker that
            attest queued).
        now: the clock for the sweep's age filter (tests).

    Each round first **claims** its bundles: a conditional update sets
    ``proof_claimed_until`` (now + ``PROOF_CLAIM_SECONDS``) on pending rows
    that no live claim holds, so concurrent workers (and the sweep) prove
    disjoint sets; a claim left by a crashed worker expires. A proof is
    stored on a ``pending`` or ``failed`` row (a valid proof is never
    thrown away) with ``proof_attached_at`` = the time it was stored.

    Returns:
        ``{"attached", "retrying", "failed", "skipped"}`` counts: ``skipped``
        are bundles another worker attached first.

    Never raises for a proving failure or a malformed stored bundle: the
    attempt is recorded on the bundle (``proof_attempts``, ``proof_error``)
    and it becomes ``failed`` after ``VDI_BILLING_PROOF_MAX_ATTEMPTS``.
    Database errors propagate (the sweep retries later).
    """
    size = limit or billing_settings.proof_batch
    counts = {"attached": 0, "retrying": 0, "failed": 0, "skipped": 0}
    if receipt_ids is None:
        rounds: list[list[str] | None] = [None]
    else:
        rounds = [receipt_ids[i : i + size] for i in range(0, len(receipt_ids), size)]
    for ids in rounds:
        batch = _claim(ids, size, older_than_seconds, now or timezone.now())
        for key, value in _prove_batch(batch).items():
            counts[key] += value
    return counts


#: How long a worker's claim on a bundle lasts (seconds): longer than proving
#: a full round takes, short enough that a crashed worker's bundles come back.
PROOF_CLAIM_SECONDS = 300


def _claim(
    receipt_ids: list[str] | None, size: int, older_than_seconds: int, now: datetime
) -> list[tuple[int, str]]:
    """Claim up to ``size`` pending bundles; return their ``(pk, document)``."""
    rows = Bundle.objects.filter(proof_status=_PENDING).filter(
        Q(proof_claimed_until__isnull=True) | Q(proof_claimed_until__lt=timezone.now())
    )
    if receipt_ids is not None:
        rows = rows.filter(receipt_id__in=receipt_ids)
    if older_than_seconds:
        rows = rows.filter(issued_at__lte=now - timedelta(seconds=older_than_seconds))
    candidates = list(
        rows.order_by("issued_at", "id").values_list("pk", flat=True)[:size]
    )
    claimed = []
    for pk in candidates:
        moment = timezone.now()
        won = (
            Bundle.objects.filter(pk=pk, proof_status=_PENDING)
            .filter(
                Q(proof_claimed_until__isnull=True) | Q(proof_claimed_until__lt=moment)
            )
            .update(proof_claimed_until=moment + timedelta(seconds=PROOF_CLAIM_SECONDS))
        )
        if won:
            claimed.append(pk)
    return list(
        Bundle.objects.filter(pk__in=claimed)
        .order_by("issued_at", "id")
        .values_list("pk", "document")
    )


def _prove_batch(batch: list[tuple[int, str]]) -> dict[str, int]:
    """Prove claimed bundles on the prover's thread pool; store or record each."""
    counts = {"attached": 0, "retrying": 0, "failed": 0, "skipped": 0}
    if not batch:
        return counts
    try:
        require_artifacts()
        prover = get_prover()
    except MeterproofError as exc:
        for pk, _ in batch:
            counts[_record_failure(pk, exc)] += 1
        return counts
    futures: list[tuple[int, Any, Future[dict[str, Any]]]] = []
    for pk, document in batch:
        try:
            commitments = json.loads(document)["attestation"]["billing_commitments"]
            elements = [int(e) for e in commitments["elements"]]
            signals = commitments["public_signals"]
            future = prover.submit(elements)  # checks the inputs before queueing
        except Exception as exc:
            # a bundle that cannot be proved must not block the ones after it
            counts[_record_failure(pk, exc)] += 1
            continue
        futures.append((pk, signals, future))
    for pk, signals, future in futures:
        try:
            proof = future.result()
            if proof["public_signals"] != signals:
                raise ProtocolError(
                    f"proof public signals {proof['public_signals']} differ from the "
                    f"signed billing_commitments {signals}",
                    field="billing_proof.public_signals",
                )
        except Exception as exc:
            counts[_record_failure(pk, exc)] += 1
            continue
        stored = Bundle.objects.filter(
            pk=pk, proof_status__in=[_PENDING, Bundle.ProofStatus.FAILED]
        ).update(
            proof_status=Bundle.ProofStatus.ATTACHED,
            billing_proof=json.dumps(proof, separators=(",", ":"), sort_keys=True),
            proof_attached_at=timezone.now(),
            proof_attempts=F("proof_attempts") + 1,
            proof_error="",
            proof_claimed_until=None,
        )
        counts["attached" if stored else "skipped"] += 1
    return counts


def _record_failure(pk: int, exc: BaseException) -> str:
    """Count one failed attempt on bundle ``pk`` and release its claim; return
    ``retrying`` or ``failed``. ``proof_error`` is ``"<code>: <message>"``
    (staff see it; tenants see the code only)."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    code = getattr(exc, "code", type(exc).__name__)
    error = f"{code}: {message}"[:500]
    logger.warning("proving bundle %s failed: %s", pk, error)
    Bundle.objects.filter(pk=pk, proof_status=_PENDING).update(
        proof_attempts=F("proof_attempts") + 1,
        proof_error=error,
        proof_claimed_until=None,
    )
    failed = Bundle.objects.filter(
        pk=pk,
        proof_status=_PENDING,
        proof_attempts__gte=billing_settings.proof_max_attempts,
    ).update(proof_status=Bundle.ProofStatus.FAILED)
    return "failed" if failed else "retrying"


def billing_proofs_dispatcher_set(
    dispatcher: ProofsDispatcher | None,
) -> ProofsDispatcher | None:
    """Register how :func:`billing_proofs_dispatch` queues proving work;
    return the dispatcher registered before (tests put it back).

    ``billing.tasks`` registers ``billing_proofs_attach_enqueue`` (the task's
    ``delay``) when it is imported (``BillingConfig.ready`` imports it, so
    every Django process has it); ``None`` unregisters. The task module sits
    above the services, so the services reach it through this one slot
    instead of importing it.
    """
    global _dispatcher
    previous, _dispatcher = _dispatcher, dispatcher
    return previous


def billing_proofs_dispatch(*, receipt_ids: list[str]) -> bool:
    """Queue ``billing_proofs_attach_task`` for freshly attested bundles.

    Returns whether the message was handed to Celery. A broker failure (or
    no registered dispatcher, see :func:`billing_proofs_dispatcher_set`) is
    logged, never raised: the bundles stay ``pending`` and the beat sweep
    attaches their proofs. (With ``CELERY_TASK_ALWAYS_EAGER``, the
    development default, the task runs here, in the attesting process.)
    """
    if not receipt_ids:
        return False
    if _dispatcher is None:
        logger.warning(
            "no proof dispatcher registered (billing.tasks not imported); "
            "the sweep will attach proofs for %d bundles",
            len(receipt_ids),
        )
        return False
    try:
        _dispatcher(receipt_ids)
    except Exception:
        logger.exception(
            "could not queue proofs for %d bundles; the sweep will attach them",
            len(receipt_ids),
        )
        return False
    return True


def billing_proofs_retry(*, receipt_ids: list[str]) -> int:
    """Put ``failed`` bundles back to ``pending`` (attempts reset) and queue
    them; return how many were reset. Used by the admin's retry action."""
    reset = Bundle.objects.filter(
        receipt_id__in=receipt_ids, proof_status=Bundle.ProofStatus.FAILED
    ).update(
        proof_status=_PENDING,
        proof_attempts=0,
        proof_error="",
        proof_claimed_until=None,
    )
    if reset:
        billing_proofs_dispatch(receipt_ids=receipt_ids)
    return reset
