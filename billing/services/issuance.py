"""Issue the bundles of reserved meter events: price, (prove), sign, store, log.

Attest (:mod:`billing.services.attest`) hands :func:`bundles_issue` the events
whose ``(tenant, event_id, window)`` it reserved
(:mod:`billing.services.replay`). For the whole batch this module

1. refuses, each alone, the events whose billing period (their ``window``) is
   already closed (``period_closed``, a cheap early check without a lock);
2. computes each charge and the attestation's digests, and starts the batch's
   Groth16 proofs on the prover's thread pool when proving is ``sync`` or
   ``parallel``;
3. signs each attestation with the placeholder sequence number 2^53-1 (the
   largest, so the real leaf is never larger) and rejects, alone, any whose
   JCS bytes (the log leaf) exceed ``MAX_ENTRY_SIZE_BYTES``;
4. in **one transaction**: checks the reservations are still ours (row
   locks), locks the ``BillingPeriod`` rows of the batch
   (:func:`billing.services.periods.billing_periods_lock`), refuses alone the
   events of a period closed meanwhile (the authoritative check), assigns
   each event the next number of its tenant's period and signs its
   ``vdi-billing/3`` attestation, stores meter events, queues the log leaves,
   stores the bundles (each built once,
   :func:`billing.protocol.bundle.build_bundle`) and flips the reservations
   to ``committed``; a rollback consumes no number;
5. after the commit, sequences the leaves (a group commit shared with
   concurrent requests) and adds the ``log`` member
   (:func:`billing.selectors.bundle_log_attach`, its one producer);
6. attaches ``parallel`` proofs, and queues the ``async`` ones (and failed
   parallel ones) for a worker once the transaction commits
   (:func:`billing.services.proofs.billing_proofs_dispatch`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.errors import AttestationTooLarge
from billing.keyring import Keyring
from billing.models import Bundle, MeterEvent
from billing.protocol.bundle import (
    SEQUENCE_NUMBER_MAX,
    attestation_digests,
    build_attestation,
    build_bundle,
    receipt_id_for,
)
from billing.protocol.tariff import Charge, TariffDocument, compute_charge
from billing.selectors import bundle_log_attach
from billing.selectors_periods import billing_periods_closed
from billing.services.periods import (
    bundles_number,
    periods_closed_refuse,
)
from billing.services.proofs import billing_proofs_dispatch
from billing.services.replay import (
    AttestOutcome,
    PendingAttest,
    reservation_lost_error,
    reservations_commit,
    reservations_lock,
    reservations_lost,
    reservations_release,
)
from circuits.prover import get_prover
from kernel.protocol.errors import ProtocolError
from kernel.protocol.jcs import canonical_json
from transparency.protocol.tiles import MAX_ENTRY_SIZE_BYTES
from transparency.services import log_enqueue, log_sequence

logger = logging.getLogger(__name__)

#: ``Bundle.proof_status`` of a freshly issued bundle, per proof mode.
_PROOF_STATUS = {
    "off": Bundle.ProofStatus.NONE.value,
    "sync": Bundle.ProofStatus.EMBEDDED.value,
    "parallel": Bundle.ProofStatus.PENDING.value,
    "async": Bundle.ProofStatus.PENDING.value,
}


def bundles_issue(
    *,
    owned: list[PendingAttest],
    keyring: Keyring,
    now: datetime,
    backfill: bool,
    outcomes: list[AttestOutcome | None],
    proof_mode: str = "off",
) -> None:
    """Build, sign (and, for sync proving, prove outside any transaction),
    queue and store the ``owned`` items in one transaction, then sequence
    them; set ``outcomes[item.index]`` for each (``attested``, or rejected
    with :class:`AttestationTooLarge`).

    ``proof_mode`` (see ``meter_events_attest``): ``off``, ``sync`` (proofs
    inside the signed attestations), ``parallel`` (proofs computed on the
    prover's thread pool while this thread signs, stores and sequences; then
    attached as detached proofs) or ``async`` (bundles left ``pending`` and
    queued for a worker). ``now`` is the attestation's ``issued_at``;
    ``backfill`` marks ``receipt.backfilled``. Removes oversized items and
    items of a closed period from ``owned`` (in place) after releasing their
    reservations (rejected with :class:`AttestationTooLarge` or
    :class:`PeriodClosed`).

    Raises:
        ReservationLost: a reservation was taken over by another request
            before the commit; nothing of the batch is stored.
        Any database error of the commit transaction (the caller releases
        the reservations).
    """
    proof_status = _PROOF_STATUS[proof_mode]
    early = billing_periods_closed(keys={(i.tenant.pk, i.key[2]) for i in owned})
    reservations_release(
        items=periods_closed_refuse(owned=owned, closed=early, outcomes=outcomes)
    )
    if not owned:
        return
    tariffs: dict[int, TariffDocument] = {}
    prepared = []
    for item in owned:
        assert item.version is not None and item.version.document is not None
        tariff = tariffs.get(item.version.pk)
        if tariff is None:
            tariff = tariffs[item.version.pk] = TariffDocument.from_json(
                item.version.document
            )
        charge = compute_charge(tariff, item.envelope.event.quantity)
        prepared.append(
            (item, tariff, charge, attestation_digests(item.envelope, tariff, charge))
        )
    proofs: list[Future[dict[str, Any]] | None] = [None] * len(prepared)
    if proof_mode in ("sync", "parallel"):
        # Every statement is known before anything is signed: prove the whole
        # batch at once on the prover's thread pool (groth16py releases the GIL).
        prover = get_prover()
        proofs = [
            prover.submit([int(e) for e in digests["billing_commitments"]["elements"]])
            for _, _, _, digests in prepared
        ]
    # A failure before the commit leaves no use for the proofs: cancel the
    # ones not started yet (running ones finish and are dropped).
    signers: dict[int, _Signer] = {}
    with _cancel_on_error(proofs):
        for (item, tariff, charge, digests), proof in zip(
            prepared, proofs, strict=True
        ):
            signer = signers[item.index] = _Signer(
                item=item,
                tariff=tariff,
                charge=charge,
                digests=digests,
                billing_proof=proof.result()
                if proof is not None and proof_mode == "sync"
                else None,
                keyring=keyring,
                now=now,
                backfill=backfill,
            )
            # The oversize check before the number is known: the placeholder
            # is the largest number, so the real leaf is never larger.
            item.attestation = signer.sign(SEQUENCE_NUMBER_MAX)
            item.charge = charge
        proofs = _drop_oversized(owned, proofs, outcomes)
        if not owned:
            return
        proof_of = {
            item.index: proof for item, proof in zip(owned, proofs, strict=True)
        }
        closed: list[PendingAttest] = []
        try:
            with transaction.atomic():
                _store(owned, now, backfill, proof_status, signers, outcomes, closed)
        except IntegrityError:
            # Backstop for backends without row locks (SQLite): a takeover that
            # committed between our check and our inserts shows up as a unique
            # violation on the event or bundle. Ours to report, not a 500.
            lost = reservations_lost(items=owned)
            if lost:
                raise reservation_lost_error(lost) from None
            raise
        finally:
            if closed:
                for item in closed:
                    proof = proof_of[item.index]
                    if proof is not None:
                        proof.cancel()
                reservations_release(items=closed)
        if not owned:
            return
        proofs = [proof_of[item.index] for item in owned]
    # Committed: the events are attested whatever happens next. Sequencing is
    # a group commit shared with concurrent requests; should it fail, the
    # leaves stay queued (log_tick sequences them) and the bundles are
    # returned without log evidence, which a later read adds.
    issued: list[tuple[dict[str, Any], str]] = []
    for item in owned:
        assert item.bundle is not None and item.leaf_hash is not None
        issued.append((item.bundle, item.leaf_hash))
    leaves = [leaf for _, leaf in issued]
    try:
        log_sequence(
            leaf_hashes=leaves, signer=keyring.log_signer, origin=keyring.log_origin
        )
        bundle_log_attach(issued)
    except Exception:
        logger.exception(
            "sequencing %d attested leaves failed; left queued", len(leaves)
        )
    for item, (document, _) in zip(owned, issued, strict=True):
        outcomes[item.index] = AttestOutcome(
            "attested", bundle=document, key=item.key, proof_status=proof_status
        )
    unproved: list[PendingAttest] = []
    if proof_mode == "async":
        unproved = owned
    elif proof_mode == "parallel":
        unproved = _attach_parallel_proofs(owned, proofs, outcomes)
    if unproved:
        ids = [item.attestation["receipt"]["receipt_id"] for item in unproved]  # type: ignore[index]
        # After the commit (immediately when no transaction is open), so a
        # worker always finds the rows.
        transaction.on_commit(lambda: billing_proofs_dispatch(receipt_ids=ids))


class _Signer:
    """Signs one attest item's attestation once its sequence number is known (the
    inputs computed before the transaction: tariff, charge, digests, and the
    ``sync`` proof)."""

    def __init__(
        self,
        *,
        item: PendingAttest,
        tariff: TariffDocument,
        charge: Charge,
        digests: dict[str, Any],
        billing_proof: dict[str, Any] | None,
        keyring: Keyring,
        now: datetime,
        backfill: bool,
    ) -> None:
        self.item = item
        self.tariff = tariff
        self.charge = charge
        self.digests = digests
        self.billing_proof = billing_proof
        self.keyring = keyring
        self.now = now
        self.backfill = backfill

    def sign(self, number: int) -> dict[str, Any]:
        """Return the signed ``vdi-billing/3`` attestation numbered ``number``
        in the event's window."""
        item = self.item
        return build_attestation(
            envelope=item.envelope,
            tariff=self.tariff,
            charge=self.charge,
            receipt_id=receipt_id_for(item.key[0], item.key[2], item.key[1]),
            issued_at=self.now,
            issuer=self.keyring.issuer,
            backfilled=self.backfill,
            billing_proof=self.billing_proof,
            digests=self.digests,
            sequence={"period": item.key[2], "number": number},
        )


def _store(
    owned: list[PendingAttest],
    now: datetime,
    backfill: bool,
    proof_status: str,
    signers: dict[int, _Signer],
    outcomes: list[AttestOutcome | None],
    refused: list[PendingAttest],
) -> None:
    """Number and sign the owned items under their period locks, store their
    events, queued leaves and bundles and flip their reservations to
    ``committed``; call inside one transaction. Items of a period closed
    meanwhile are rejected and moved from ``owned`` to ``refused`` (the
    caller releases their reservations).

    Builds each item's bundle (``item.bundle``, the one build per event: the
    stored document and, once ``log`` is added, the answer).

    Raises:
        ReservationLost: a reservation was taken over by another request.
    """
    reservations_lock(items=owned)
    bundles_number(
        owned=owned,
        signers={index: signer.sign for index, signer in signers.items()},
        outcomes=outcomes,
        refused=refused,
    )
    if not owned:
        return
    events = []
    for item in owned:
        ev = item.envelope.event
        events.append(
            MeterEvent(
                tenant=item.tenant,
                event_id=ev.event_id,
                window=ev.window,
                metric=ev.metric,
                quantity=ev.quantity,
                occurred_at=ev.occurred_at_dt,
                attributes=ev.attributes,
                meter_kid=item.envelope.kid,
                meter_hash=item.meter_hash,
                backfilled=backfill,
            )
        )
    MeterEvent.objects.bulk_create(events)
    if not all(e.pk for e in events):  # backends without RETURNING ids
        lookup = {
            (e.tenant_id, e.event_id, e.window): e.pk
            for e in MeterEvent.objects.filter(
                Q(
                    *[
                        Q(tenant=i.tenant, event_id=i.key[1], window=i.key[2])
                        for i in owned
                    ],
                    _connector=Q.OR,
                )
            )
        }
        for e in events:
            e.pk = lookup[(e.tenant_id, e.event_id, e.window)]
    entries: list[bytes] = []
    for item in owned:
        assert item.leaf_data is not None  # set by _drop_oversized
        entries.append(item.leaf_data)
    leaf_hashes = log_enqueue(entries=entries)
    bundles = []
    for item, event_row, leaf in zip(owned, events, leaf_hashes, strict=True):
        assert item.attestation is not None and item.charge is not None
        item.bundle = build_bundle(item.attestation)
        sequence = item.attestation["sequence"]
        bundles.append(
            Bundle(
                receipt_id=item.attestation["receipt"]["receipt_id"],
                tenant=item.tenant,
                meter_event=event_row,
                tariff_version=item.version,
                leaf_hash=leaf,
                amount_minor=item.charge.amount_minor,
                currency=item.charge.currency,
                fingerprint=item.attestation["billing_verify_fingerprint"],
                document=_storage_json(item.bundle),
                issued_at=now,
                proof_status=proof_status,
                period=sequence["period"],
                sequence_number=sequence["number"],
            )
        )
        item.leaf_hash = leaf
    Bundle.objects.bulk_create(bundles)
    reservations_commit(items=owned, now=now)


def _drop_oversized(
    owned: list[PendingAttest],
    proofs: list[Future[dict[str, Any]] | None],
    outcomes: list[AttestOutcome | None],
) -> list[Future[dict[str, Any]] | None]:
    """Reject, each alone, the items whose signed attestation (JCS bytes, the
    log leaf) exceeds ``MAX_ENTRY_SIZE_BYTES``: C2SP tlog-tiles entry bundles
    carry an entry's length in a uint16, so a larger leaf would make its whole
    bundle unservable. Releases their reservations, removes them from
    ``owned`` (in place) and returns the proofs of the items kept; the kept
    items get ``leaf_data``."""
    kept: list[PendingAttest] = []
    kept_proofs: list[Future[dict[str, Any]] | None] = []
    dropped: list[PendingAttest] = []
    for item, proof in zip(owned, proofs, strict=True):
        assert item.attestation is not None
        leaf = canonical_json(item.attestation)
        if len(leaf) > MAX_ENTRY_SIZE_BYTES:
            outcomes[item.index] = AttestOutcome(
                "rejected",
                error=AttestationTooLarge(
                    f"the signed attestation is {len(leaf)} bytes, at most "
                    f"{MAX_ENTRY_SIZE_BYTES} fit one log entry; send fewer "
                    "or shorter attributes",
                    field="event.attributes",
                ),
            )
            if proof is not None:
                proof.cancel()
            dropped.append(item)
        else:
            item.leaf_data = leaf
            kept.append(item)
            kept_proofs.append(proof)
    reservations_release(items=dropped)
    owned[:] = kept
    return kept_proofs


@contextmanager
def _cancel_on_error(futures: list[Future[dict[str, Any]] | None]) -> Iterator[None]:
    """Cancel the not-yet-started ``futures`` if the block raises."""
    try:
        yield
    except BaseException:
        for future in futures:
            if future is not None:
                future.cancel()
        raise


def _attach_parallel_proofs(
    owned: list[PendingAttest],
    proofs: list[Future[dict[str, Any]] | None],
    outcomes: list[AttestOutcome | None],
) -> list[PendingAttest]:
    """Wait for the proofs started before signing, store each as the bundle's
    detached proof (``pending`` -> ``attached``) and add it to the answer.

    Returns the items whose proof failed: they stay ``pending`` (the caller
    queues them for the worker; the sweep would find them anyway)."""
    failed: list[PendingAttest] = []
    for item, future in zip(owned, proofs, strict=True):
        assert item.attestation is not None and future is not None
        outcome = outcomes[item.index]
        assert outcome is not None and outcome.bundle is not None
        signals = item.attestation["billing_commitments"]["public_signals"]
        try:
            proof = future.result()
            if proof["public_signals"] != signals:
                raise ProtocolError("proof public signals differ from the commitments")
            stored = Bundle.objects.filter(
                receipt_id=item.attestation["receipt"]["receipt_id"],
                proof_status=Bundle.ProofStatus.PENDING,
            ).update(
                proof_status=Bundle.ProofStatus.ATTACHED,
                billing_proof=json.dumps(proof, separators=(",", ":"), sort_keys=True),
                proof_attached_at=timezone.now(),
                proof_attempts=1,
            )
        except Exception:
            logger.exception(
                "parallel proof for %s failed; left pending for the worker",
                item.attestation["receipt"]["receipt_id"],
            )
            failed.append(item)
            continue
        if stored:
            outcome.bundle["billing_proof"] = proof
            outcome.proof_status = Bundle.ProofStatus.ATTACHED.value
    return failed


def _storage_json(document: dict[str, Any]) -> str:
    """Serialise a bundle for storage: compact, key-sorted JSON. Storage needs no
    canonical form (every hash and signature is over JCS bytes recomputed by the
    verifier), so the faster standard-library encoder is used here."""
    return json.dumps(
        document, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    )
