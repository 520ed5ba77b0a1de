"""Attest meter events: the flow from a payload to its outcome (one path).

The API (one event), the access-log backfill and the benchmarks (batches) all
call :func:`meter_events_attest`. For each event it

1. parses the meter envelope (or signs a bare event with the server meter key),
   checks the meter signature against the trust anchors, the tenant and the
   late-event window (skipped for staff backfills, which the receipt records);
2. finds the tariff of the tenant's subscription in force for the event's
   metric at ``occurred_at`` (no subscription at all: the default plan) and
   its published version in force then;
3. **reserves** ``(tenant, event_id, window)`` in its own committed transaction
   (``reserved`` + ``expires_at`` + ``holder``): a crash leaves a row that is
   reclaimed once it expires or, sooner, once its holder is seen dead
   (the replay guard, :mod:`billing.services.replay`;
   :mod:`billing.services.holder`);
4. in **one transaction** for the whole batch: appends every attestation to the
   transparency log, signs one checkpoint, stores meter events and bundles and
   flips the reservations to ``committed`` (checked by token, so a reservation
   reclaimed by someone else is never committed twice)
   (:mod:`billing.services.issuance`, which also dispatches proofs through
   :mod:`billing.services.proofs`);
5. on a caught failure **releases** (deletes) its own reservations; nothing is
   half-written because step 4 is atomic.

A retry with the same body returns the stored bundle; the same event_id with a
different body raises :class:`ReplayConflict` (DESIGN.md "Replay guard").
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from billing.checks import PROOF_MODES
from billing.errors import (
    AttestDisabled,
    EventInFuture,
    EventTooOld,
    MeterKeyRevoked,
    NoSubscription,
    NoTariffInForce,
    ReplayConflict,
    TenantMismatch,
    UnknownTenant,
)
from billing.keyring import Keyring, get_keyring
from billing.models import Subscription, Tariff, TariffVersion, Tenant
from billing.protocol.errors import UnknownKeyError
from billing.protocol.events import (
    MeterEnvelope,
    MeterEventBody,
    meter_envelope_sign,
    meter_envelope_verify,
)
from billing.protocol.trust import TrustAnchors
from billing.selectors import (
    subscription_covers,
    subscription_list,
    trust_anchors_get,
)
from billing.services.holder import ReservationHolder
from billing.services.issuance import bundles_issue
from billing.services.replay import (
    AttestOutcome,
    PendingAttest,
    replays_attach,
    reservations_release,
    reservations_reserve,
)
from billing.settings import billing_settings
from circuits.artifacts import require_artifacts
from circuits.prover import get_prover
from circuits.settings import circuits_settings
from kernel.protocol.errors import MeterproofError, ProtocolError

__all__ = ["meter_event_attest", "meter_events_attest", "parse_attest_payload"]


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
    return meter_envelope_sign(
        MeterEventBody.from_json(payload),
        kid=keyring.meter.kid,
        signing_key=keyring.meter.signing_key,
    )


def _check_meter_signature(envelope: MeterEnvelope, trust: TrustAnchors) -> None:
    """Attest's meter-key policy, then the one meter signature check.

    Stricter than the verifier's standard profile: a new event may not be
    signed by a revoked key, nor outside the key's validity window, nor for a
    tenant the key is not bound to."""
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
    meter_envelope_verify(envelope, key.verify_key, field="sig")


def _check_window(event: MeterEventBody, now: datetime) -> None:
    occurred = event.occurred_at_dt
    oldest = now - timedelta(seconds=billing_settings.max_event_age_seconds)
    newest = now + timedelta(seconds=billing_settings.max_future_skew_seconds)
    if occurred < oldest:
        raise EventTooOld(
            f"occurred_at {event.occurred_at} is more than "
            f"{billing_settings.max_event_age_seconds // 86400} days old",
            field="event.occurred_at",
        )
    if occurred > newest:
        raise EventInFuture(
            f"occurred_at {event.occurred_at} is more than "
            f"{billing_settings.max_future_skew_seconds} s in the future",
            field="event.occurred_at",
        )


class _TariffFinder:
    """Finds the published version in force, with one query per tenant and one
    per tariff per batch.

    Rule (the tariff): the tenant's subscription in force at ``occurred_at``
    for the event's metric (``billing.selectors.subscription_covers``); a
    tenant without any subscription is on the **default plan**, the tariff
    ``MP_DEFAULT_TARIFF_ID`` (the access-log import's surrogate tenants rely
    on it). Rule (the version): among the tariff's published versions, the one
    with the latest ``effective_from <= occurred_at`` and ``occurred_at <
    effective_to`` (if set); the database guarantees at most one published
    version per start.
    """

    def __init__(self) -> None:
        self._versions: dict[int, list[TariffVersion]] = {}
        self._subscriptions: dict[int, list[Subscription]] = {}
        self._default: Tariff | None | bool = False

    def _default_tariff(self) -> Tariff | None:
        if self._default is False:
            self._default = Tariff.objects.filter(
                tariff_id=billing_settings.default_tariff_id
            ).first()
        return self._default  # type: ignore[return-value]

    def _tariff(self, tenant: Tenant, event: MeterEventBody) -> Tariff:
        """Return the tariff pricing ``event`` for ``tenant``.

        Raises:
            NoSubscription: the tenant has subscriptions, none in force for
                the metric at ``occurred_at``.
            NoTariffInForce: default plan, and no default tariff or one of
                another metric.
        """
        subscriptions = self._subscriptions.get(tenant.pk)
        if subscriptions is None:
            subscriptions = list(subscription_list(tenant=tenant))
            self._subscriptions[tenant.pk] = subscriptions
        if subscriptions:
            occurred = event.occurred_at_dt
            for subscription in subscriptions:
                if subscription_covers(subscription, metric=event.metric, at=occurred):
                    return subscription.tariff
            of_metric = any(s.tariff.metric == event.metric for s in subscriptions)
            raise NoSubscription(
                f"tenant {tenant.slug} has no subscription for metric "
                f"{event.metric!r} in force at {event.occurred_at}",
                field="event.occurred_at" if of_metric else "event.metric",
            )
        tariff = self._default_tariff()
        if tariff is None:
            raise NoTariffInForce(
                f"tenant {tenant.slug} has no subscription and there is no default "
                f"tariff {billing_settings.default_tariff_id!r}",
                field="event.tenant",
            )
        if tariff.metric != event.metric:
            raise NoTariffInForce(
                f"tariff {tariff.tariff_id} prices {tariff.metric!r}, not {event.metric!r}",
                field="event.metric",
            )
        return tariff

    def find(self, tenant: Tenant, event: MeterEventBody) -> TariffVersion:
        """Return the published version pricing ``event`` for ``tenant``.

        Raises:
            NoSubscription, NoTariffInForce: see the class rules.
        """
        tariff = self._tariff(tenant, event)
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
    found = {t.slug: t for t in Tenant.objects.filter(slug__in=slugs, is_active=True)}
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
    if not billing_settings.attest_enabled:
        raise AttestDisabled("attestation is disabled (MP_ATTEST_ENABLED=false)")
    if prove is None:
        prove = circuits_settings.incircuit_binding
    mode = proof_mode or circuits_settings.proof_mode
    if mode not in PROOF_MODES:
        # A misconfiguration, not bad input: never attest with a silent no-op.
        raise ImproperlyConfigured(
            f"MP_BILLING_PROOF_MODE is {mode!r}; expected one of {PROOF_MODES}"
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
    pending: list[PendingAttest] = []
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
            duplicates.append((index, first_seen[key], event.meter_hash))
            continue
        first_seen[key] = index
        hashes[index] = event.meter_hash
        pending.append(
            PendingAttest(
                index=index,
                tenant=owner,
                envelope=envelope,
                meter_hash=event.meter_hash,
                key=key,
                version=version,
            )
        )
    # The holder (an advisory lock on PostgreSQL) lives as long as this
    # attempt: a second request finding our reservation can tell whether we
    # died, instead of waiting for expires_at.
    with ReservationHolder() if pending else nullcontext(None) as holder:
        owned = reservations_reserve(
            items=pending, now=now, outcomes=outcomes, holder=holder
        )
        replays_attach(outcomes=outcomes, keyring=keyring)
        if owned:
            try:
                bundles_issue(
                    owned=owned,
                    keyring=keyring,
                    now=now,
                    backfill=backfill,
                    outcomes=outcomes,
                    proof_mode=mode if prove else "off",
                )
            except BaseException:
                reservations_release(items=owned)
                raise
    for index, first, meter_hash in duplicates:
        original = outcomes[first]
        if original is not None and original.status != "rejected":
            if meter_hash == hashes[first]:
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
