"""Async proving: attach detached Groth16 ``billing_proof`` members to bundles.

With ``VDI_BILLING_INCIRCUIT_BINDING=true`` and ``VDI_BILLING_PROOF_MODE=async``
attest signs and logs the attestation at once (``Bundle.proof_status =
pending``) and queues ``billing.tasks.billing_proofs_attach_task`` with the new
receipt ids. The task calls :func:`billing_proofs_attach`, which proves the
pending bundles (in parallel over the prover's thread pool) and stores each
proof in ``Bundle.billing_proof`` (``attached``). Bundle reads then serve it as
the bundle's top-level ``billing_proof`` member (``billing.selectors``), outside
the issuer's signature: a Groth16 proof verifies only against its public
signal, which every verifier recomputes from the signed ``billing_commitments``.

Crash safety: nothing is lost if the broker drops the message or a worker dies
mid-proof; the bundle stays ``pending`` and the beat sweep
(``billing_proofs_attach_task`` without ids, every 30 s) picks up pending
bundles older than a grace period. A proof is stored by a conditional update
(``pending`` -> ``attached``), so two workers racing on one bundle store it
once. A bundle whose proving fails ``VDI_BILLING_PROOF_MAX_ATTEMPTS`` times is
``failed`` with the last error; staff retry it from the admin
(:func:`billing_proofs_retry`).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from billing.models import Bundle
from transparency.protocol.errors import ProtocolError

logger = logging.getLogger(__name__)

__all__ = ["billing_proofs_attach", "billing_proofs_dispatch", "billing_proofs_retry"]

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
        receipt_ids: only these bundles (the ids attest queued); ``None``
            sweeps every pending bundle, oldest first.
        limit: at most this many bundles (default ``VDI_BILLING_PROOF_BATCH``).
        older_than_seconds: sweep only bundles issued at least this many
            seconds ago (the beat sweep leaves fresh ones to the worker that
            attest queued).
        now: the clock (tests).

    Returns:
        ``{"attached", "retrying", "failed", "skipped"}`` counts: ``skipped``
        are bundles another worker attached first.

    Never raises for a proving failure: the attempt is recorded on the bundle
    (``proof_attempts``, ``proof_error``) and it becomes ``failed`` after
    ``VDI_BILLING_PROOF_MAX_ATTEMPTS``. Database errors propagate (the task
    is retried by the sweep).
    """
    from circuits.artifacts import require_artifacts
    from circuits.prover import get_prover

    now = now or timezone.now()
    rows = Bundle.objects.filter(proof_status=_PENDING)
    if receipt_ids is not None:
        rows = rows.filter(receipt_id__in=receipt_ids)
    if older_than_seconds:
        rows = rows.filter(issued_at__lte=now - timedelta(seconds=older_than_seconds))
    batch = list(
        rows.order_by("issued_at", "id").values_list("pk", "document")[
            : limit or settings.VDI_BILLING_PROOF_BATCH
        ]
    )
    counts = {"attached": 0, "retrying": 0, "failed": 0, "skipped": 0}
    if not batch:
        return counts
    try:
        require_artifacts()
        prover = get_prover()
    except ProtocolError as exc:
        for pk, _ in batch:
            counts[_record_failure(pk, exc)] += 1
        return counts
    futures: list[tuple[int, Any, Future[dict[str, Any]]]] = []
    for pk, document in batch:
        try:
            commitments = json.loads(document)["attestation"]["billing_commitments"]
            elements = [int(e) for e in commitments["elements"]]
            future = prover.submit(elements)  # checks the inputs before queueing
        except (ValueError, KeyError, TypeError, ProtocolError) as exc:
            # a bundle that cannot be proved must not block the ones after it
            counts[_record_failure(pk, exc)] += 1
            continue
        futures.append((pk, commitments["public_signals"], future))
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
        stored = Bundle.objects.filter(pk=pk, proof_status=_PENDING).update(
            proof_status=Bundle.ProofStatus.ATTACHED,
            billing_proof=json.dumps(proof, separators=(",", ":"), sort_keys=True),
            proof_attached_at=now,
            proof_attempts=F("proof_attempts") + 1,
            proof_error="",
        )
        counts["attached" if stored else "skipped"] += 1
    return counts


def _record_failure(pk: int, exc: BaseException) -> str:
    """Count one failed attempt on bundle ``pk``; return ``retrying`` or ``failed``."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    code = getattr(exc, "code", type(exc).__name__)
    error = f"{code}: {message}"[:500]
    logger.warning("proving bundle %s failed: %s", pk, error)
    Bundle.objects.filter(pk=pk, proof_status=_PENDING).update(
        proof_attempts=F("proof_attempts") + 1, proof_error=error
    )
    failed = Bundle.objects.filter(
        pk=pk,
        proof_status=_PENDING,
        proof_attempts__gte=settings.VDI_BILLING_PROOF_MAX_ATTEMPTS,
    ).update(proof_status=Bundle.ProofStatus.FAILED)
    return "failed" if failed else "retrying"


def billing_proofs_dispatch(*, receipt_ids: list[str]) -> bool:
    """Queue ``billing_proofs_attach_task`` for freshly attested bundles.

    Returns whether the message was handed to Celery. A broker failure is
    logged, never raised: the bundles stay ``pending`` and the beat sweep
    attaches their proofs. (With ``CELERY_TASK_ALWAYS_EAGER``, the
    development default, the task runs here, in the attesting process.)
    """
    if not receipt_ids:
        return False
    from billing.tasks import billing_proofs_attach_task

    try:
        billing_proofs_attach_task.delay(receipt_ids=receipt_ids)
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
    ).update(proof_status=_PENDING, proof_attempts=0, proof_error="")
    if reset:
        billing_proofs_dispatch(receipt_ids=receipt_ids)
    return reset
