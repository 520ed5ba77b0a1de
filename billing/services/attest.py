"""Attest meter events: replay guard, pricing, signing, log append (one path).

The API (one event), the access-log backfill and the benchmarks (batches) all
call :func:`meter_events_attest`. For each event it

1. parses the meter envelope (or signs a bare event with the server meter key),
   checks the meter signature against the trust anchors, the tenant and the
   late-event window (skipped for staff backfills, which the receipt records);
2. finds the published tariff version in force at ``occurred_at``;
3. **reserves** ``(tenant, event_id, window)`` in its own committed transaction
   (``reserved`` + ``expires_at`` + ``holder``): a crash leaves a row that is
   reclaimed once it expires or, sooner, once its holder is seen dead
   (:mod:`billing.services.holder`);
4. in **one transaction** for the whole batch: appends every attestation to the
   transparency log, signs one checkpoint, stores meter events and bundles and
   flips the reservations to ``committed`` (checked by token, so a reservation
   reclaimed by someone else is never committed twice);
5. on a caught failure **releases** (deletes) its own reservations; nothing is
   half-written because step 4 is atomic.

A retry with the same body returns the stored bundle; the same event_id with a
different body raises :class:`ReplayConflict` (DESIGN.md "Replay guard").
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.checks import PROOF_MODES
from billing.errors import (
    AttestationTooLarge,
    AttestDisabled,
    AttestInProgress,
    EventInFuture,
    EventTooOld,
    MeterKeyRevoked,
    NoTariffInForce,
    ReplayConflict,
    ReservationLost,
    TenantMismatch,
    UnknownTenant,
)
from billing.keyring import Keyring, get_keyring
from billing.models import (
    Bundle,
    MeterEvent,
    ReplayReservation,
    Tariff,
    TariffVersion,
    Tenant,
)
from billing.protocol.bundle import (
    attestation_digests,
    build_attestation,
    build_bundle,
    receipt_id_for,
)
from billing.protocol.contexts import CONTEXT_METER_ENVELOPE
from billing.protocol.errors import UnknownKeyError
from billing.protocol.events import MeterEnvelope
from billing.protocol.events import MeterEvent as MeterEventDoc
from billing.protocol.tariff import Tariff as TariffDoc
from billing.protocol.tariff import compute_charge
from billing.protocol.trust import TrustAnchors
from billing.selectors import (
    BUNDLE_DOCUMENT_COLUMNS,
    bundle_documents,
    trust_anchors_get,
)
from billing.services.holder import ReservationHolder, holder_alive
from billing.services.proofs import billing_proofs_dispatch
from circuits.artifacts import require_artifacts
from circuits.prover import get_prover
from kernel.protocol.ed25519 import sign_object, verify_object
from kernel.protocol.errors import MeterproofError, ProtocolError
from kernel.protocol.jcs import canonical_json
from transparency.protocol.tiles import MAX_ENTRY_SIZE_BYTES
from transparency.selectors import log_evidence_list
from transparency.services import log_enqueue, log_heal, log_sequence

logger = logging.getLogger(__name__)


@dataclass
class AttestOutcome:
    """The result for one submitted event.

    ``status``: ``attested`` (new bundle), ``replayed`` (same body seen before;
    the stored bundle) or ``rejected`` (``error`` says why; nothing stored).
    ``proof_status``: the bundle's ``Bundle.ProofStatus`` value (``none``,
    ``embedded``, ``pending``, ``attached``, ``failed``); ``None`` if rejected.
    """

    status: str
    bundle: dict[str, Any] | None = None
    error: MeterproofError | None = None
    key: tuple[str, str, str] | None = None
    proof_status: str | None = None


@dataclass
class _Pending:
    index: int
    tenant: Tenant
    envelope: MeterEnvelope
    request_hash: str
    key: tuple[str, str, str]
    version: TariffVersion | None = None
    token: uuid.UUID | None = None
    attestation: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _is_envelope(payload: Any) -> bool:
    return isinstance(payload, dict) and {"event", "kid", "sig"} <= payload.keys()


def parse_attest_payload(payload: Any, *, keyring: Keyring) -> MeterEnvelope:
    """Return a meter envelope from an API payload.

    A payload with ``event``, ``kid`` and ``sig`` is a signed meter envelope
    (signature checked later against the trust anchors); any other object is a
    bare meter event, signed here by the server-side meter key.

    Raises:
        MeterEventError: malformed envelope or event.
    """
    if _is_envelope(payload):
        return MeterEnvelope.from_json(payload)
    event = MeterEventDoc.from_json(payload)
    sig = sign_object(
        keyring.meter.signing_key, CONTEXT_METER_ENVELOPE, event.to_json()
    )
    return MeterEnvelope(event=event, kid=keyring.meter.kid, sig=sig)


def _check_meter_signature(envelope: MeterEnvelope, trust: TrustAnchors) -> None:
    key = trust.key("meter", envelope.kid)
    if key is None:
        raise UnknownKeyError(f"meter kid {envelope.kid} is not trusted", field="kid")
    if key.status == "revoked":
        raise MeterKeyRevoked(
            f"meter kid {envelope.kid} is revoked and may not sign new events",
            field="kid",
        )
    if not key.is_valid_at(envelope.event.occurred_at_dt):
        raise UnknownKeyError(
            f"meter kid {envelope.kid} is not valid at occurred_at "
            f"{envelope.event.occurred_at}",
            field="kid",
        )
    if key.tenant is not None and key.tenant != envelope.event.tenant:
        raise TenantMismatch(
            f"meter key {envelope.kid} may only sign events of tenant {key.tenant!r}",
            field="event.tenant",
        )
    verify_object(
        key.verify_key,
        CONTEXT_METER_ENVELOPE,
        envelope.event.to_json(),
        envelope.sig,
        field="sig",
    )


def _check_window(event: MeterEventDoc, now: datetime) -> None:
    occurred = event.occurred_at_dt
    oldest = now - timedelta(seconds=settings.VDI_BILLING_MAX_EVENT_AGE_SEC)
    newest = now + timedelta(seconds=settings.VDI_BILLING_MAX_FUTURE_SKEW_SEC)
    if occurred < oldest:
        raise EventTooOld(
            f"occurred_at {event.occurred_at} is more than "
            f"{settings.VDI_BILLING_MAX_EVENT_AGE_SEC // 86400} days old",
            field="event.occurred_at",
        )
    if occurred > newest:
        raise EventInFuture(
            f"occurred_at {event.occurred_at} is more than "
            f"{settings.VDI_BILLING_MAX_FUTURE_SKEW_SEC} s in the future",
            field="event.occurred_at",
        )


class _TariffFinder:
    """Finds the published version in force, with one query per tariff per batch.

    Rule: among published versions of the tenant's tariff (or the default
    tariff) whose metric is the event's, the one with the latest
    ``effective_from <= occurred_at`` and ``occurred_at < effective_to`` (if
    set); the database guarantees at most one published version per start.
    """

    def __init__(self) -> None:
        self._versions: dict[int, list[TariffVersion]] = {}
        self._default: Tariff | None | bool = False

    def _default_tariff(self) -> Tariff | None:
        if self._default is False:
            self._default = Tariff.objects.filter(
                tariff_id=settings.VDI_DEFAULT_TARIFF_ID
            ).first()
        return self._default  # type: ignore[return-value]

    def find(self, tenant: Tenant, event: MeterEventDoc) -> TariffVersion:
        tariff = tenant.tariff if tenant.tariff_id else self._default_tariff()
        if tariff is None:
            raise NoTariffInForce(
                f"tenant {tenant.slug} has no tariff and there is no default tariff "
                f"{settings.VDI_DEFAULT_TARIFF_ID!r}",
                field="event.tenant",
            )
        if tariff.metric != event.metric:
            raise NoTariffInForce(
                f"tariff {tariff.tariff_id} prices {tariff.metric!r}, not {event.metric!r}",
                field="event.metric",
            )
        versions = self._versions.get(tariff.pk)
        if versions is None:
            versions = list(
                TariffVersion.objects.filter(
                    tariff=tariff, status=TariffVersion.Status.PUBLISHED
                )
                .select_related("tariff")
                .order_by("-effective_from", "-version")
            )
            self._versions[tariff.pk] = versions
        occurred = event.occurred_at_dt
        for version in versions:
            if version.effective_from <= occurred and (
                version.effective_to is None or occurred < version.effective_to
            ):
                return version
        raise NoTariffInForce(
            f"no published version of tariff {tariff.tariff_id} is in force at "
            f"{event.occurred_at}",
            field="event.occurred_at",
        )


def _reserve(
    items: list[_Pending],
    now: datetime,
    outcomes: list[AttestOutcome | None],
    holder: ReservationHolder | None,
) -> list[_Pending]:
    """Reserve each item's key for ``holder``; return the items this call now
    owns.

    Items whose key is already committed get ``replayed`` (same body) or a
    :class:`ReplayConflict`; keys reserved by a live in-flight request get
    :class:`AttestInProgress` (or a conflict if the body differs); keys whose
    reservation expired or whose holder is dead are taken over.
    """
    ttl = timedelta(seconds=settings.VDI_BILLING_REPLAY_RESERVE_TTL_SEC)
    owned: list[_Pending] = []
    existing: dict[tuple[int, str, str], ReplayReservation] = {}
    if items:
        # (tenant IN ..., event_id IN ...) then exact match in Python: one cheap
        # query instead of a 500-term OR that Django compiles slowly.
        rows = ReplayReservation.objects.filter(
            tenant_id__in={item.tenant.pk for item in items},
            event_id__in={item.key[1] for item in items},
        )
        existing = {(r.tenant_id, r.event_id, r.window): r for r in rows}
    fresh: list[_Pending] = []
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
                request_hash=item.request_hash,
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
    item: _Pending,
    row: ReplayReservation,
    now: datetime,
    ttl: timedelta,
    outcomes: list[AttestOutcome | None],
    owned: list[_Pending],
    holder: ReservationHolder | None,
) -> None:
    if row.status == ReplayReservation.Status.COMMITTED:
        if row.request_hash != item.request_hash:
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
        # The stored bundle is attached in one query per batch by _attach_replays.
        outcomes[item.index] = AttestOutcome("replayed", key=item.key)
        return
    mine = holder.key if holder is not None else None
    if row.expires_at > now and holder_alive(row.holder, mine=mine):
        error: MeterproofError
        if row.request_hash != item.request_hash:
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
        request_hash=item.request_hash,
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


def _attach_replays(outcomes: list[AttestOutcome | None], keyring: Keyring) -> None:
    """Load the stored bundles of replayed outcomes (one query per 500).

    A replayed bundle whose leaf is still queued (its first attest was
    interrupted before sequencing) is sequenced first (:func:`log_heal`), so
    a retry returns it with log evidence."""
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


def _release(items: list[_Pending]) -> None:
    """Delete our own uncommitted reservations (on a caught failure only)."""
    tokens = [item.token for item in items if item.token is not None]
    if tokens:
        ReplayReservation.objects.filter(
            token__in=tokens, status=ReplayReservation.Status.RESERVED
        ).delete()


def _load_tenants(cache: dict[str, Tenant | None], payloads: list[Any]) -> None:
    """Fill ``cache`` with the active tenants named by ``payloads`` (one query)."""
    slugs: set[str] = set()
    for payload in payloads:
        event = (
            payload.get("event")
            if isinstance(payload, dict) and "sig" in payload
            else payload
        )
        if isinstance(event, dict) and isinstance(event.get("tenant"), str):
            slugs.add(event["tenant"])
    slugs -= cache.keys()
    found = {
        t.slug: t
        for t in Tenant.objects.filter(slug__in=slugs, is_active=True).select_related(
            "tariff"
        )
    }
    for slug in slugs:
        cache[slug] = found.get(slug)


def meter_events_attest(
    *,
    payloads: list[Any],
    tenant: Tenant | None = None,
    backfill: bool = False,
    now: datetime | None = None,
    prove: bool | None = None,
    proof_mode: str | None = None,
) -> list[AttestOutcome]:
    """Attest a batch of meter events; return one outcome per payload, in order.

    Args:
        payloads: meter envelopes ``{"event", "kid", "sig"}`` or bare meter
            events (parsed JSON).
        tenant: the authenticated tenant; every event must name it. ``None``
            (staff backfill) resolves each event's tenant by slug.
        backfill: staff backfill: skip the late-event window and mark
            ``receipt.backfilled``.
        now: the clock (injected in tests).
        prove: attach a Groth16 ``billing_proof`` to every attestation;
            ``None`` follows ``VDI_BILLING_INCIRCUIT_BINDING``.
        proof_mode: ``"sync"`` (prove before signing, the proof inside the
            signed attestation; the batch's proofs run in parallel on the
            prover's thread pool), ``"parallel"`` (prove on the thread pool
            while the attestation is signed, stored and logged; the answer
            carries the detached proof, ``attached``), or ``"async"`` (sign
            and log at once, ``pending``, proofs queued for a Celery worker;
            see ``billing.services.proofs``); ``None`` follows
            ``VDI_BILLING_PROOF_MODE``.

    Raises:
        AttestDisabled, SigningKeysUnconfigured: before anything is reserved.
        ArtifactManifestMismatch, ProofError: proving is on and the artifacts
            or the prover are not usable (HTTP 503), before anything is
            reserved.
        Any database error of the commit transaction, after releasing this
        call's reservations (nothing of the batch is stored).
    """
    if not settings.VDI_ATTEST_ENABLED:
        raise AttestDisabled("attestation is disabled (VDI_ATTEST_ENABLED=false)")
    if prove is None:
        prove = settings.VDI_BILLING_INCIRCUIT_BINDING
    mode = proof_mode or settings.VDI_BILLING_PROOF_MODE
    if mode not in PROOF_MODES:
        # A misconfiguration, not bad input: never attest with a silent no-op.
        raise ImproperlyConfigured(
            f"VDI_BILLING_PROOF_MODE is {mode!r}; expected one of {PROOF_MODES}"
        )
    if prove:
        # Refuse (503 artifact_manifest_mismatch / prover errors) before
        # anything is reserved; never substitute other artifacts. Async
        # attests do not prove here, so they do not load the proving key.
        require_artifacts()
        if mode in ("sync", "parallel"):
            get_prover()
    keyring = get_keyring()
    trust = trust_anchors_get(keyring)
    now = now or timezone.now()
    outcomes: list[AttestOutcome | None] = [None] * len(payloads)
    tenants: dict[str, Tenant | None] = {}
    if tenant is not None:
        tenants[tenant.slug] = tenant
    finder = _TariffFinder()
    pending: list[_Pending] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    duplicates: list[tuple[int, int, str]] = []
    hashes: dict[int, str] = {}
    for index, payload in enumerate(payloads):
        try:
            envelope = parse_attest_payload(payload, keyring=keyring)
            event = envelope.event
            key = (event.tenant, event.event_id, event.window)
            if tenant is not None and event.tenant != tenant.slug:
                raise TenantMismatch(
                    f"event is for tenant {event.tenant!r}, the API key is for {tenant.slug!r}",
                    field="event.tenant",
                )
            if event.tenant not in tenants:
                _load_tenants(tenants, payloads[index:])
            owner = tenants[event.tenant]
            if owner is None:
                raise UnknownTenant(
                    f"no active tenant {event.tenant!r}", field="event.tenant"
                )
            if envelope.kid != keyring.meter.kid or _is_envelope(payload):
                # bare events were just signed by our own meter key
                _check_meter_signature(envelope, trust)
            if not backfill:
                _check_window(event, now)
            version = finder.find(owner, event)
        except MeterproofError as exc:
            outcomes[index] = AttestOutcome("rejected", error=exc)
            continue
        if key in first_seen:
            duplicates.append((index, first_seen[key], event.event_hash))
            continue
        first_seen[key] = index
        hashes[index] = event.event_hash
        pending.append(
            _Pending(
                index=index,
                tenant=owner,
                envelope=envelope,
                request_hash=event.event_hash,
                key=key,
                version=version,
            )
        )
    # The holder (an advisory lock on PostgreSQL) lives as long as this
    # attempt: a second request finding our reservation can tell whether we
    # died, instead of waiting for expires_at.
    with ReservationHolder() if pending else nullcontext(None) as holder:
        owned = _reserve(pending, now, outcomes, holder)
        _attach_replays(outcomes, keyring)
        if owned:
            try:
                _commit(
                    owned,
                    keyring,
                    now,
                    backfill,
                    outcomes,
                    proof_mode=mode if prove else "off",
                )
            except BaseException:
                _release(owned)
                raise
    for index, first, event_hash in duplicates:
        original = outcomes[first]
        if original is not None and original.status != "rejected":
            if event_hash == hashes[first]:
                outcomes[index] = AttestOutcome(
                    "replayed",
                    bundle=original.bundle,
                    key=original.key,
                    proof_status=original.proof_status,
                )
            else:
                outcomes[index] = AttestOutcome(
                    "rejected",
                    error=ReplayConflict(
                        "the same event_id appears twice in one batch with different bodies",
                        field="event.event_id",
                    ),
                )
        else:
            outcomes[index] = original
    return [
        o
        if o is not None
        else AttestOutcome("rejected", error=ProtocolError("not processed"))
        for o in outcomes
    ]


def _commit(
    owned: list[_Pending],
    keyring: Keyring,
    now: datetime,
    backfill: bool,
    outcomes: list[AttestOutcome | None],
    *,
    proof_mode: str = "off",
) -> None:
    """Build, sign (and, for sync proving, prove outside any transaction),
    queue and store the owned items in one transaction, then sequence them.

    ``proof_mode`` (see :func:`meter_events_attest`): ``off``, ``sync``
    (proofs inside the signed attestations), ``parallel`` (proofs computed on
    the prover's thread pool while this thread signs, stores and sequences;
    then attached as detached proofs) or ``async`` (bundles left ``pending``
    and queued for a worker)."""
    proof_status: str = {
        "off": Bundle.ProofStatus.NONE.value,
        "sync": Bundle.ProofStatus.EMBEDDED.value,
        "parallel": Bundle.ProofStatus.PENDING.value,
        "async": Bundle.ProofStatus.PENDING.value,
    }[proof_mode]
    tariffs: dict[int, TariffDoc] = {}
    prepared = []
    for item in owned:
        assert item.version is not None and item.version.document is not None
        tariff = tariffs.get(item.version.pk)
        if tariff is None:
            tariff = tariffs[item.version.pk] = TariffDoc.from_json(
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
    with _cancel_on_error(proofs):
        for (item, tariff, charge, digests), proof in zip(
            prepared, proofs, strict=True
        ):
            item.attestation = build_attestation(
                envelope=item.envelope,
                tariff=tariff,
                charge=charge,
                receipt_id=receipt_id_for(item.key[0], item.key[2], item.key[1]),
                issued_at=now,
                issuer=keyring.issuer,
                backfilled=backfill,
                billing_proof=proof.result()
                if proof is not None and proof_mode == "sync"
                else None,
                digests=digests,
            )
            item.extra["charge"] = charge
        proofs = _drop_oversized(owned, proofs, outcomes)
        if not owned:
            return
        try:
            with transaction.atomic():
                _store(owned, now, backfill, proof_status)
        except IntegrityError:
            # Backstop for backends without row locks (SQLite): a takeover that
            # committed between our check and our inserts shows up as a unique
            # violation on the event or bundle. Ours to report, not a 500.
            lost = _lost_reservations(owned)
            if lost:
                raise _reservation_lost(lost) from None
            raise
    # Committed: the events are attested whatever happens next. Sequencing is
    # a group commit shared with concurrent requests; should it fail, the
    # leaves stay queued (log_tick sequences them) and the bundles are
    # returned without log evidence, which a later read adds.
    leaves = [item.extra["leaf_hash"] for item in owned]
    evidence: dict[str, dict[str, Any]] = {}
    try:
        log_sequence(
            leaf_hashes=leaves, signer=keyring.log_signer, origin=keyring.log_origin
        )
        evidence = log_evidence_list(leaf_hashes=leaves)
    except Exception:
        logger.exception(
            "sequencing %d attested leaves failed; left queued", len(leaves)
        )
    for item in owned:
        assert item.attestation is not None
        document = build_bundle(item.attestation)
        log = evidence.get(item.extra["leaf_hash"])
        if log is not None:
            document["log"] = log
        outcomes[item.index] = AttestOutcome(
            "attested", bundle=document, key=item.key, proof_status=proof_status
        )
    unproved: list[_Pending] = []
    if proof_mode == "async":
        unproved = owned
    elif proof_mode == "parallel":
        unproved = _attach_parallel_proofs(owned, proofs, outcomes)
    if unproved:
        ids = [item.attestation["receipt"]["receipt_id"] for item in unproved]  # type: ignore[index]
        # After the commit (immediately when no transaction is open), so a
        # worker always finds the rows.
        transaction.on_commit(lambda: billing_proofs_dispatch(receipt_ids=ids))


def _lost_reservations(owned: list[_Pending]) -> list[_Pending]:
    """Return the items whose reservation is no longer ours (reclaimed by
    another request after it expired or its holder was judged dead)."""
    held = set(
        ReplayReservation.objects.filter(
            token__in=[item.token for item in owned],
            status=ReplayReservation.Status.RESERVED,
        ).values_list("token", flat=True)
    )
    return [item for item in owned if item.token not in held]


def _reservation_lost(lost: list[_Pending]) -> ReservationLost:
    first = lost[0].key[1]
    more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
    return ReservationLost(
        f"the reservation of event_id {first}{more} was taken over by another "
        "request before this one committed; nothing was stored, retry",
        field="event.event_id",
    )


def _store(
    owned: list[_Pending], now: datetime, backfill: bool, proof_status: str
) -> None:
    """Store the owned items' events, queued leaves and bundles and flip their
    reservations to ``committed``; call inside one transaction.

    First locks our reservation rows (``SELECT ... FOR UPDATE``) and checks
    they are still ours, so a request whose reservation was reclaimed inserts
    nothing and a reclaimer waits for our commit (and then finds the row
    committed).

    Raises:
        ReservationLost: a reservation was taken over by another request.
    """
    held = set(
        ReplayReservation.objects.select_for_update()
        .filter(
            token__in=[item.token for item in owned],
            status=ReplayReservation.Status.RESERVED,
        )
        .values_list("token", flat=True)
    )
    lost = [item for item in owned if item.token not in held]
    if lost:
        raise _reservation_lost(lost)
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
                event_hash=item.request_hash,
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
    leaf_hashes = log_enqueue(
        leaf_datas=[item.extra["leaf_data"] for item in owned]
    )
    bundles = []
    for item, event_row, leaf in zip(owned, events, leaf_hashes, strict=True):
        assert item.attestation is not None
        charge = item.extra["charge"]
        bundles.append(
            Bundle(
                receipt_id=item.attestation["receipt"]["receipt_id"],
                tenant=item.tenant,
                meter_event=event_row,
                tariff_version=item.version,
                leaf_hash=leaf,
                amount_minor=charge.amount_minor,
                currency=charge.currency,
                fingerprint=item.attestation["billing_verify_fingerprint"],
                document=_storage_json(build_bundle(item.attestation)),
                issued_at=now,
                proof_status=proof_status,
            )
        )
        item.extra["leaf_hash"] = leaf
    Bundle.objects.bulk_create(bundles)
    updated = ReplayReservation.objects.filter(
        token__in=[item.token for item in owned],
        status=ReplayReservation.Status.RESERVED,
    ).update(status=ReplayReservation.Status.COMMITTED, committed_at=now)
    if updated != len(owned):
        # Cannot happen while the rows are locked above; should it, abort the
        # whole batch rather than commit an event twice.
        raise ReservationLost(
            f"{len(owned) - updated} reservation(s) were taken over during "
            "attestation; nothing was stored, retry",
            field="event.event_id",
        )


def _drop_oversized(
    owned: list[_Pending],
    proofs: list[Future[dict[str, Any]] | None],
    outcomes: list[AttestOutcome | None],
) -> list[Future[dict[str, Any]] | None]:
    """Reject, each alone, the items whose signed attestation (JCS bytes, the
    log leaf) exceeds ``MAX_ENTRY_SIZE_BYTES``: C2SP tlog-tiles entry bundles
    carry an entry's length in a uint16, so a larger leaf would make its whole
    bundle unservable. Releases their reservations, removes them from
    ``owned`` (in place) and returns the proofs of the items kept; the kept
    items get ``extra["leaf_data"]``."""
    kept: list[_Pending] = []
    kept_proofs: list[Future[dict[str, Any]] | None] = []
    dropped: list[_Pending] = []
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
            item.extra["leaf_data"] = leaf
            kept.append(item)
            kept_proofs.append(proof)
    _release(dropped)
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
    owned: list[_Pending],
    proofs: list[Future[dict[str, Any]] | None],
    outcomes: list[AttestOutcome | None],
) -> list[_Pending]:
    """Wait for the proofs started before signing, store each as the bundle's
    detached proof (``pending`` -> ``attached``) and add it to the answer.

    Returns the items whose proof failed: they stay ``pending`` (the caller
    queues them for the worker; the sweep would find them anyway)."""
    failed: list[_Pending] = []
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


def meter_event_attest(
    *, payload: Any, tenant: Tenant, now: datetime | None = None
) -> AttestOutcome:
    """Attest one event for an authenticated tenant (the API's path).

    Returns the outcome (``attested`` or ``replayed``).

    Raises:
        MeterproofError subclasses: the rejection reason (``ReplayConflict``,
        ``SignatureError``, ``NoTariffInForce``, ...), nothing stored.
    """
    outcome = meter_events_attest(payloads=[payload], tenant=tenant, now=now)[0]
    if outcome.status == "rejected":
        assert outcome.error is not None
        raise outcome.error
    return outcome


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
