"""The crash-safe replay guard of attest (DESIGN.md "Replay guard").

Each attested event is keyed ``(tenant, event_id, window)``. Before anything
is signed, :func:`reservations_reserve` inserts a ``ReplayReservation`` for
the key in its own committed transaction (``reserved`` + ``expires_at`` +
``holder``): a crash leaves a row that is reclaimed once it expires or,
sooner, once its holder is seen dead (:mod:`billing.services.holder`). The
commit (:mod:`billing.services.issuance`) flips the row to ``committed``,
checked by token, so a reservation reclaimed by someone else is never
committed twice; a caught failure releases (deletes) the attempt's own rows
(:func:`reservations_release`).

A key already ``committed`` with the same body is a replay (the stored bundle
is answered, :func:`replays_attach`); with a different body a
:class:`ReplayConflict`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.errors import AttestInProgress, ReplayConflict, ReservationLost
from billing.keyring import Keyring
from billing.models import Bundle, ReplayReservation, TariffVersion, Tenant
from billing.protocol.bundle import receipt_id_for
from billing.protocol.events import MeterEnvelope
from billing.protocol.tariff import Charge
from billing.selectors import BUNDLE_DOCUMENT_COLUMNS, bundle_documents
from billing.services.holder import ReservationHolder, holder_alive
from billing.settings import billing_settings
from kernel.protocol.errors import MeterproofError
from transparency.services import log_heal


@dataclass
class AttestOutcome:
    """The result for one submitted event.

    ``status``: ``attested`` (new bundle), ``replayed`` (same body seen before;
    the stored bundle) or ``rejected`` (``error`` says why; nothing stored).
    ``bundle``: the bundle JSON (``format``, ``attestation``, ``log`` once
    sequenced, a detached ``billing_proof`` once attached); ``None`` if
    rejected. ``key``: ``(tenant slug, event_id, window)``.
    ``proof_status``: the bundle's ``Bundle.ProofStatus`` value (``none``,
    ``embedded``, ``pending``, ``attached``, ``failed``); ``None`` if rejected.
    """

    status: str
    bundle: dict[str, Any] | None = None
    error: MeterproofError | None = None
    key: tuple[str, str, str] | None = None
    proof_status: str | None = None


@dataclass
class PendingAttest:
    """One accepted event on its way through reservation, signing and storage.

    ``index``: its position in the submitted batch. ``key``: ``(tenant slug,
    event_id, window)``. ``meter_hash``: SHA-256(JCS(event)), lowercase hex
    (the replay guard's body fingerprint). ``version``: the tariff version in
    force at ``occurred_at``. ``token``: the reservation token this attempt
    holds, once reserved. The issuance step fills ``charge``,
    ``attestation`` (the signed attestation JSON), ``leaf_data`` (its JCS
    bytes, the log leaf), ``bundle`` (the bundle JSON, built once) and
    ``leaf_hash`` (lowercase hex, once queued in the log).
    """

    index: int
    tenant: Tenant
    envelope: MeterEnvelope
    meter_hash: str
    key: tuple[str, str, str]
    version: TariffVersion | None = None
    token: uuid.UUID | None = None
    charge: Charge | None = None
    attestation: dict[str, Any] | None = None
    leaf_data: bytes | None = None
    bundle: dict[str, Any] | None = None
    leaf_hash: str | None = None


def reservations_reserve(
    *,
    items: list[PendingAttest],
    now: datetime,
    outcomes: list[AttestOutcome | None],
    holder: ReservationHolder | None,
) -> list[PendingAttest]:
    """Reserve each item's key for ``holder``; return the items this call now
    owns (each with its ``token`` set).

    Items whose key is already committed get ``outcomes[item.index]`` set to
    ``replayed`` (same body) or rejected with :class:`ReplayConflict`; keys
    reserved by a live in-flight request are rejected with
    :class:`AttestInProgress` (or a conflict if the body differs); keys whose
    reservation expired (``VDI_BILLING_REPLAY_RESERVE_TTL_SEC``, seconds) or
    whose holder is dead are taken over. One query finds the existing rows
    and one bulk insert reserves the fresh keys (row by row only after a
    concurrent insert won a key).
    """
    ttl = timedelta(seconds=billing_settings.replay_reserve_ttl_seconds)
    owned: list[PendingAttest] = []
    existing: dict[tuple[int, str, str], ReplayReservation] = {}
    if items:
        # (tenant IN ..., event_id IN ...) then exact match in Python: one cheap
        # query instead of a 500-term OR that Django compiles slowly.
        rows = ReplayReservation.objects.filter(
            tenant_id__in={item.tenant.pk for item in items},
            event_id__in={item.key[1] for item in items},
        )
        existing = {(r.tenant_id, r.event_id, r.window): r for r in rows}
    fresh: list[PendingAttest] = []
    for item in items:
        row = existing.get((item.tenant.pk, item.key[1], item.key[2]))
        if row is None:
            fresh.append(item)
        else:
            _resolve_existing(item, row, now, ttl, outcomes, owned, holder)
    if fresh:
        for item in fresh:
            item.token = uuid.uuid4()
        rows = [
            ReplayReservation(
                tenant=item.tenant,
                event_id=item.key[1],
                window=item.key[2],
                meter_hash=item.meter_hash,
                token=item.token,
                expires_at=now + ttl,
                holder=holder.key if holder is not None else None,
            )
            for item in fresh
        ]
        try:
            with transaction.atomic():
                ReplayReservation.objects.bulk_create(rows)
            owned.extend(fresh)
        except IntegrityError:
            # A concurrent request reserved one of them: go one by one.
            for item, row in zip(fresh, rows, strict=True):
                try:
                    with transaction.atomic():
                        row.pk = None
                        row.save(force_insert=True)
                    owned.append(item)
                except IntegrityError:
                    current = ReplayReservation.objects.get(
                        tenant=item.tenant, event_id=item.key[1], window=item.key[2]
                    )
                    _resolve_existing(item, current, now, ttl, outcomes, owned, holder)
    return owned


def _resolve_existing(
    item: PendingAttest,
    row: ReplayReservation,
    now: datetime,
    ttl: timedelta,
    outcomes: list[AttestOutcome | None],
    owned: list[PendingAttest],
    holder: ReservationHolder | None,
) -> None:
    if row.status == ReplayReservation.Status.COMMITTED:
        if row.meter_hash != item.meter_hash:
            outcomes[item.index] = AttestOutcome(
                "rejected",
                error=ReplayConflict(
                    f"event_id {item.key[1]} in window {item.key[2]} was already attested "
                    "with a different body",
                    field="event.event_id",
                ),
                key=item.key,
            )
            return
        # The stored bundle is attached in one query per batch by replays_attach.
        outcomes[item.index] = AttestOutcome("replayed", key=item.key)
        return
    mine = holder.key if holder is not None else None
    if row.expires_at > now and holder_alive(row.holder, mine=mine):
        error: MeterproofError
        if row.meter_hash != item.meter_hash:
            error = ReplayConflict(
                f"event_id {item.key[1]} is being attested with a different body",
                field="event.event_id",
            )
        else:
            error = AttestInProgress(
                f"event_id {item.key[1]} is being attested by another request; retry",
                field="event.event_id",
            )
        outcomes[item.index] = AttestOutcome("rejected", error=error, key=item.key)
        return
    # Expired reservation, or one whose holder died (a crash): reclaim it,
    # idempotently (only one reclaimer wins the conditional update; the old
    # holder, should it still run, loses its token-checked commit).
    token = uuid.uuid4()
    won = ReplayReservation.objects.filter(
        pk=row.pk, status=ReplayReservation.Status.RESERVED, token=row.token
    ).update(
        token=token,
        expires_at=now + ttl,
        meter_hash=item.meter_hash,
        holder=mine,
    )
    if won:
        item.token = token
        owned.append(item)
    else:
        outcomes[item.index] = AttestOutcome(
            "rejected",
            error=AttestInProgress(
                f"event_id {item.key[1]}: reservation was reclaimed concurrently; retry",
                field="event.event_id",
            ),
            key=item.key,
        )


def replays_attach(*, outcomes: list[AttestOutcome | None], keyring: Keyring) -> None:
    """Fill in the stored bundle and proof status of every ``replayed``
    outcome that has none yet (one query per 500 receipts).

    A replayed bundle whose leaf is still queued (its first attest was
    interrupted before sequencing) is sequenced first (``log_heal`` with the
    keyring's log-operator key), so a retry returns it with log evidence.
    """
    wanted = {
        receipt_id_for(o.key[0], o.key[2], o.key[1]): o
        for o in outcomes
        if o is not None and o.status == "replayed" and o.bundle is None and o.key
    }
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        rows = list(
            Bundle.objects.filter(receipt_id__in=ids[start : start + 500]).values_list(
                "receipt_id", "proof_status", *BUNDLE_DOCUMENT_COLUMNS
            )
        )
        documents = bundle_documents(row[2:] for row in rows)
        unlogged = [
            row[3]
            for row, document in zip(rows, documents, strict=True)
            if "log" not in document and row[3] is not None
        ]
        if unlogged and log_heal(
            leaf_hashes=unlogged,
            signer=keyring.log_signer,
            origin=keyring.log_origin,
        ):
            documents = bundle_documents(row[2:] for row in rows)
        for (receipt_id, proof_status, *_), document in zip(
            rows, documents, strict=True
        ):
            wanted[receipt_id].bundle = document
            wanted[receipt_id].proof_status = proof_status


def reservations_release(*, items: list[PendingAttest]) -> None:
    """Delete this attempt's own uncommitted reservations of ``items`` (on a
    caught failure only; rows another request took over keep their new
    token and are left alone)."""
    tokens = [item.token for item in items if item.token is not None]
    if tokens:
        ReplayReservation.objects.filter(
            token__in=tokens, status=ReplayReservation.Status.RESERVED
        ).delete()


def reservations_lost(*, items: list[PendingAttest]) -> list[PendingAttest]:
    """Return the items whose reservation is no longer ours (reclaimed by
    another request after it expired or its holder was judged dead); reads
    without locking (the commit's backstop after a unique violation)."""
    return _lost(items, lock=False)


def reservations_lock(*, items: list[PendingAttest]) -> None:
    """Lock this attempt's reservation rows (``SELECT ... FOR UPDATE``; call
    inside the commit transaction) and check they are still ours, so a
    request whose reservation was reclaimed inserts nothing and a reclaimer
    waits for our commit (and then finds the row committed).

    Raises:
        ReservationLost: a reservation was taken over by another request.
    """
    lost = _lost(items, lock=True)
    if lost:
        raise reservation_lost_error(lost)


def _lost(items: list[PendingAttest], *, lock: bool) -> list[PendingAttest]:
    rows = ReplayReservation.objects.all()
    if lock:
        rows = rows.select_for_update()
    held = set(
        rows.filter(
            token__in=[item.token for item in items],
            status=ReplayReservation.Status.RESERVED,
        ).values_list("token", flat=True)
    )
    return [item for item in items if item.token not in held]


def reservations_commit(*, items: list[PendingAttest], now: datetime) -> None:
    """Flip this attempt's reservations of ``items`` to ``committed`` at
    ``now`` (inside the commit transaction, after :func:`reservations_lock`).

    Raises:
        ReservationLost: fewer rows were updated than items (cannot happen
            while the rows are locked; should it, the whole batch aborts
            rather than commit an event twice).
    """
    updated = ReplayReservation.objects.filter(
        token__in=[item.token for item in items],
        status=ReplayReservation.Status.RESERVED,
    ).update(status=ReplayReservation.Status.COMMITTED, committed_at=now)
    if updated != len(items):
        raise ReservationLost(
            f"{len(items) - updated} reservation(s) were taken over during "
            "attestation; nothing was stored, retry",
            field="event.event_id",
        )


def reservation_lost_error(lost: list[PendingAttest]) -> ReservationLost:
    """Return the :class:`ReservationLost` (HTTP 409 ``reservation_lost``)
    that names the first of the ``lost`` items' event ids and how many more."""
    first = lost[0].key[1]
    more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
    return ReservationLost(
        f"the reservation of event_id {first}{more} was taken over by another "
        "request before this one committed; nothing was stored, retry",
        field="event.event_id",
    )


def reservations_reclaim_expired(*, now: datetime | None = None) -> int:
    """Delete expired ``reserved`` rows (crashed attests); return how many.

    Safe at any time: a live attest whose reservation expired will fail its
    token-checked commit and release, never commit twice.
    """
    now = now or timezone.now()
    deleted, _ = ReplayReservation.objects.filter(
        status=ReplayReservation.Status.RESERVED, expires_at__lte=now
    ).delete()
    return deleted
