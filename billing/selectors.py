"""Reads of the billing app."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from billing.errors import BundleNotFound, MeterKeyNotFound
from billing.keyring import Keyring, get_keyring
from billing.models import Bundle, MeterKey, Subscription, TariffVersion, Tenant
from billing.pagination import BundleCursor
from billing.protocol.trust import TrustAnchors, check_key_entry
from billing.protocol.verify.options import PROFILE_STRICT, strict_options
from billing.protocol.verify.report import CheckResult
from billing.protocol.verify.verifier import verify_bundle
from kernel.protocol.ed25519 import b64url_decode, verify_key_from_bytes
from kernel.protocol.errors import MeterproofError
from kernel.protocol.timefmt import format_rfc3339_utc
from kernel.protocol.trustedkey import TrustedKey
from revocation.selectors import revocation_snapshot_for_verification, revoked_key_list
from revocation.services.snapshots import revocation_snapshot_refresh_lazily
from transparency.models import LogEntry
from transparency.selectors import log_evidence_list

logger = logging.getLogger("meterproof.billing")


def tenant_meter_keys() -> tuple[TrustedKey, ...]:
    """Return every registered tenant gateway meter key as a trust anchor
    (``status`` retired once its ``not_after`` has passed).

    A row stored before registration checked keys and windows (a small-order
    key, a bound before year 1000) is left out and logged on
    ``meterproof.billing``: one such row must not make the whole published
    trust document unreadable to verifiers.
    """
    from django.utils import timezone

    now = timezone.now()
    keys = []
    for row in MeterKey.objects.select_related("tenant").order_by("id"):
        try:
            key = TrustedKey(
                kid=row.kid,
                role="meter",
                verify_key=verify_key_from_bytes(b64url_decode(row.public_key_b64url)),
                tenant=row.tenant.slug,
                not_before=row.not_before,
                not_after=row.not_after,
                status="retired"
                if row.not_after is not None and row.not_after <= now
                else "active",
            )
            check_key_entry(key)
        except MeterproofError as exc:
            logger.warning(
                "meter key %s of tenant %s not published: %s [%s]",
                row.kid,
                row.tenant.slug,
                exc.message,
                exc.code,
            )
            continue
        keys.append(key)
    return tuple(keys)


def trust_anchors_get(keyring: Keyring | None = None) -> TrustAnchors:
    """Return the trust anchors this server publishes at
    ``/.well-known/vdi-billing-trust.json``.

    Every key (server or tenant) whose kid has a revocation in force is
    listed with ``status: revoked``: attest refuses it at once, the strict
    profile's ``not_revoked`` fails what it signed, and the standard profile
    (which only requires the kid to be listed) still verifies bundles it
    signed before.

    Raises:
        SigningKeysUnconfigured: if the server has no keys.
    """
    keyring = keyring or get_keyring()
    anchors = keyring.trust_anchors(tenant_meter_keys())
    revoked = revoked_kids_in_force()
    if not revoked:
        return anchors
    return dataclasses.replace(
        anchors,
        keys=tuple(
            dataclasses.replace(key, status="revoked") if key.kid in revoked else key
            for key in anchors.keys
        ),
    )


def revoked_kids_in_force() -> frozenset[str]:
    """Return the kids with a revocation in force (tenant or staff), the
    ones :func:`trust_anchors_get` publishes with ``status: revoked``."""

    return frozenset(revoked_key_list(in_force=True).values_list("kid", flat=True))


#: Bundle columns :func:`bundle_documents` reads, in order.
BUNDLE_DOCUMENT_COLUMNS = ("document", "leaf_hash", "billing_proof")


def bundle_documents(
    rows: Iterable[tuple[str, str | None, str | None]],
) -> list[dict[str, Any]]:
    """Return full bundles from stored ``(document, leaf_hash, billing_proof)``
    rows (``BUNDLE_DOCUMENT_COLUMNS``).

    The stored document is the signed attestation; its ``log`` member is
    recomputed here against the latest checkpoint (three queries for the
    whole list), so a bundle read later carries fresher evidence (and any
    witness cosignatures) while the signed attestation never changes. A leaf
    still queued for sequencing gets no ``log`` member. A detached Groth16
    proof attached by the async prover (``Bundle.billing_proof``) becomes the
    bundle's top-level ``billing_proof`` member.
    """
    triples = list(rows)
    documents = []
    for text, _, proof in triples:
        document = json.loads(text)
        if proof is not None:
            document["billing_proof"] = json.loads(proof)
        documents.append(document)
    bundle_log_attach(zip(documents, [leaf for _, leaf, _ in triples], strict=True))
    return documents


def bundle_log_attach(
    bundles: Iterable[tuple[dict[str, Any], str | None]],
) -> None:
    """Set the ``log`` member of each ``(bundle, leaf_hash)`` pair, in place:
    the leaf's inclusion evidence against the latest checkpoint
    (``log_evidence_list``: three queries for the whole list).

    The one producer of the bundle's ``log`` member, for stored bundles read
    back and for fresh ones answered by attest. ``leaf_hash`` is lowercase
    hex; a bundle whose leaf is ``None`` or still queued for sequencing ends
    up without ``log`` (a stale one is removed).
    """
    pairs = list(bundles)
    evidence = log_evidence_list(leaf_hashes=[leaf for _, leaf in pairs if leaf])
    for document, leaf in pairs:
        document.pop("log", None)
        if leaf is not None and leaf in evidence:
            document["log"] = evidence[leaf]


def bundle_get(*, receipt_id: str, tenant: Tenant | None = None) -> dict[str, Any]:
    """Return a stored bundle (parsed JSON, with current log evidence and any
    detached proof); ``tenant`` scopes the lookup.

    Raises:
        BundleNotFound: no such receipt (for this tenant).
    """
    rows = Bundle.objects.filter(receipt_id=receipt_id)
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    row = rows.values_list(*BUNDLE_DOCUMENT_COLUMNS).first()
    if row is None:
        raise BundleNotFound(f"no bundle {receipt_id}", field="receipt_id")
    return bundle_documents([row])[0]


def bundle_proof_status_get(
    *, receipt_id: str, tenant: Tenant | None = None
) -> dict[str, Any]:
    """Return where a bundle's Groth16 proof stands (``GET .../bundles/<receipt_id>/proof``).

    Shape: ``{"receipt_id", "proof_status": "none"|"embedded"|"pending"|
    "attached"|"failed", "attempts": int, "attached_at": RFC 3339 or null,
    "error": the last failure's code or null, "billing_proof": the member or
    null}``;
    ``billing_proof`` is the signed one for ``embedded`` and the detached one
    for ``attached``.

    Raises:
        BundleNotFound: no such receipt (for this tenant).
    """
    rows = Bundle.objects.filter(receipt_id=receipt_id)
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    row = rows.values_list(
        "proof_status",
        "proof_attempts",
        "proof_attached_at",
        "proof_error",
        "billing_proof",
        "document",
    ).first()
    if row is None:
        raise BundleNotFound(f"no bundle {receipt_id}", field="receipt_id")
    status, attempts, attached_at, error, detached, document = row
    proof: Any = None
    if detached is not None:
        proof = json.loads(detached)
    elif status == Bundle.ProofStatus.EMBEDDED:
        proof = json.loads(document)["attestation"].get("billing_proof")
    return {
        "receipt_id": receipt_id,
        "proof_status": status,
        "attempts": attempts,
        "attached_at": format_rfc3339_utc(attached_at) if attached_at else None,
        # the stored error is "<code>: <message>"; the message may name
        # server paths, so tenants get the stable code only (staff: admin)
        "error": error.split(":", 1)[0] if error else None,
        "billing_proof": proof,
    }


def bundle_list(
    *, tenant: Tenant | None = None, window: str | None = None
) -> QuerySet[Bundle]:
    """Return bundles in issue order, optionally by tenant and window."""
    rows = Bundle.objects.select_related("tenant", "meter_event").order_by(
        "issued_at", "id"
    )
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    if window is not None:
        rows = rows.filter(meter_event__window=window)
    return rows


@dataclasses.dataclass(frozen=True)
class BundlePage:
    """One page of a tenant's bundle list (:func:`bundle_page_list`).

    Attributes:
        rows: up to ``limit`` dicts, newest first: ``receipt_id``,
            ``window`` (``YYYY-MM``), ``metric``, ``quantity`` (units),
            ``amount_minor`` (integer minor units), ``currency`` (ISO 4217),
            ``tariff_id``, ``tariff_version_number``, ``occurred_at`` and
            ``issued_at`` (aware datetimes), ``leaf_index`` (int, ``None``
            while the leaf is queued) and ``id`` (primary key).
        next_cursor: the position after the last row when more rows follow,
            else ``None``.
    """

    rows: list[dict[str, Any]]
    next_cursor: BundleCursor | None


def bundle_page_list(
    *,
    tenant: Tenant,
    limit: int,
    after: BundleCursor | None = None,
    window: str | None = None,
    metric: str | None = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
) -> BundlePage:
    """Return one page of ``tenant``'s bundles, newest first by
    ``(issued_at, id)`` (keyset pagination: no offset, each bundle once).

    Walks the index ``bundle_tenant_list_idx`` ``(tenant, issued_at, id)``
    backwards from ``after`` and stops after ``limit + 1`` matching rows;
    the filters are checked on the joined meter event (its primary key), the
    leaf index on ``LogEntry.leaf_hash`` (unique). Reads neither the bundle
    document nor the event attributes.

    Args:
        tenant: whose bundles; no other tenant's row is ever read.
        limit: rows per page, >= 1 (the API bounds it to 500).
        after: continue after this position (``None``: the newest first).
        window: only events of this billing month (``YYYY-MM``).
        metric: only events of this metric.
        occurred_from: only events with ``occurred_at >=`` this (aware).
        occurred_to: only events with ``occurred_at <`` this (exclusive).
    """
    leaf_index = LogEntry.objects.filter(leaf_hash=OuterRef("leaf_hash")).values(
        "leaf_index"
    )[:1]
    rows = Bundle.objects.filter(tenant=tenant)
    if after is not None:
        # The first bound is a range on the index; the second breaks ties.
        rows = rows.filter(issued_at__lte=after.issued_at).filter(
            Q(issued_at__lt=after.issued_at) | Q(id__lt=after.id)
        )
    if window is not None:
        rows = rows.filter(meter_event__window=window)
    if metric is not None:
        rows = rows.filter(meter_event__metric=metric)
    if occurred_from is not None:
        rows = rows.filter(meter_event__occurred_at__gte=occurred_from)
    if occurred_to is not None:
        rows = rows.filter(meter_event__occurred_at__lt=occurred_to)
    page = list(
        rows.order_by("-issued_at", "-id").values(
            "id",
            "receipt_id",
            "amount_minor",
            "currency",
            "issued_at",
            window=F("meter_event__window"),
            metric=F("meter_event__metric"),
            quantity=F("meter_event__quantity"),
            occurred_at=F("meter_event__occurred_at"),
            tariff_id=F("tariff_version__tariff__tariff_id"),
            tariff_version_number=F("tariff_version__version"),
            leaf_index=Subquery(leaf_index),
        )[: limit + 1]
    )
    if len(page) <= limit:
        return BundlePage(rows=page, next_cursor=None)
    last = page[limit - 1]
    return BundlePage(
        rows=page[:limit],
        next_cursor=BundleCursor(issued_at=last["issued_at"], id=last["id"]),
    )


def meter_key_list(*, tenant: Tenant) -> QuerySet[MeterKey]:
    """Return the tenant's registered gateway meter keys, oldest first."""
    return MeterKey.objects.filter(tenant=tenant).order_by("created_at", "id")


def meter_key_get(*, tenant: Tenant, kid: str) -> MeterKey:
    """Return the tenant's meter key ``kid``.

    Raises:
        MeterKeyNotFound: no such key for this tenant.
    """

    row = MeterKey.objects.filter(tenant=tenant, kid=kid).first()
    if row is None:
        raise MeterKeyNotFound(f"no meter key {kid} for this tenant", field="kid")
    return row


def verification_options_get(*, profile: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(BundleVerifier keyword options, revocation meta)`` for
    ``profile`` as this server verifies: under ``VDI_VERIFY_STRICT_V1`` the
    revocation snapshot in force (``revocation``), the freshness bound
    (``max_snapshot_age_seconds``, seconds) and, when the snapshot could not be
    obtained, the error as ``revocation_problem`` (so the check fails with its
    code); nothing for other profiles. Without Celery beat, our own snapshot
    is first re-signed if it nears expiry
    (``revocation.services.snapshots.revocation_snapshot_refresh_lazily``). The meta dict is
    ``revocation.selectors.revocation_snapshot_for_verification``'s (``source``,
    ``fetched_at``, ``last_error``, ``max_age_seconds``), empty if not strict.

    Used by ``POST /api/vdi/billing/verify`` and the auditor UI: one setup.
    """

    if profile != PROFILE_STRICT:
        return {}, {}
    # Development has no beat to keep our snapshot fresh: re-sign it here when
    # it nears expiry (a no-op with beat; see VDI_CELERY_BEAT).
    revocation_snapshot_refresh_lazily()
    snapshot, meta = revocation_snapshot_for_verification()
    problem = meta.get("last_error")
    options = strict_options(
        revocation=snapshot,
        problem=(str(problem["code"]), str(problem["message"])) if problem else None,
        max_snapshot_age_seconds=meta["max_age_seconds"],
    )
    return options, meta


def bundle_revocation_check(*, bundle_json: Any) -> CheckResult:
    """Return whether a bundle, or a key that signed it, is revoked: the
    strict profile's ``not_revoked`` check (``billing.protocol.verify``, the
    one verifier) run against the revocation snapshot in force, whatever
    profile the caller shows.

    ``bundle_json`` is a bundle as served (``bundle_get``). The result is a
    :class:`CheckResult` named ``not_revoked``: ``pass``; ``fail`` with
    ``kid_revoked`` or ``attestation_revoked`` (or the verifier's code when
    the bundle cannot be read); or ``skip`` with the snapshot problem's code
    (``revocation_snapshot_missing`` ...) and a message starting "revocation
    not checked" when no verified snapshot is available.

    Used wherever a verdict is shown (auditor entry page, bundle admin).
    """

    options, meta = verification_options_get(profile=PROFILE_STRICT)
    if options.get("revocation") is None:
        problem = meta.get("last_error") or {
            "code": "revocation_snapshot_missing",
            "message": "no revocation snapshot",
        }
        return CheckResult(
            "not_revoked",
            "skip",
            str(problem["code"]),
            f"revocation not checked: {problem['message']}",
        )
    report = verify_bundle(
        bundle_json, trust_anchors_get(), profile=PROFILE_STRICT, **options
    )
    for check in report.checks:
        if check.name == "not_revoked":
            return check
    # The bundle did not parse far enough for the check to run: fail closed.
    failed = [c for c in report.checks if c.status == "fail"]
    return CheckResult(
        "not_revoked",
        "fail",
        failed[0].code if failed else "revocation_check_missing",
        failed[0].message if failed else "the not_revoked check did not run",
    )


def tariff_version_published_get(
    *, tariff_id: str, version: int | None = None
) -> TariffVersion | None:
    """Return the published version ``version`` of tariff ``tariff_id`` (the
    newest published one when ``version`` is ``None``), or ``None``."""
    rows = TariffVersion.objects.filter(
        tariff__tariff_id=tariff_id, status=TariffVersion.Status.PUBLISHED
    )
    if version is not None:
        rows = rows.filter(version=version)
    return rows.order_by("-version").first()


def subscription_covers(
    subscription: Subscription, *, metric: str, at: datetime
) -> bool:
    """Return whether ``subscription`` prices events of ``metric`` that
    occurred at ``at`` (an aware datetime): its tariff's metric is ``metric``
    and ``starts_at <= at < ends_at`` (no end: open-ended).

    The one rule of the attest path (``billing.services.attest``) and of
    :func:`subscription_in_force`; reads ``subscription.tariff``.
    """
    return (
        subscription.tariff.metric == metric
        and subscription.starts_at <= at
        and (subscription.ends_at is None or at < subscription.ends_at)
    )


def subscription_list(*, tenant: Tenant) -> QuerySet[Subscription]:
    """Return ``tenant``'s subscriptions (tariffs joined), oldest start first."""
    return (
        Subscription.objects.filter(tenant=tenant)
        .select_related("tariff")
        .order_by("starts_at", "tariff__tariff_id")
    )


def subscription_in_force(
    *, tenant: Tenant, metric: str, at: datetime
) -> Subscription | None:
    """Return ``tenant``'s subscription that prices ``metric`` at ``at`` (an
    aware datetime), else ``None``.

    At most one matches: subscriptions of one tenant to tariffs of one metric
    never overlap (``billing.services.subscriptions``). ``None`` does not say
    whether the tenant is on the default plan: that is the case only when it
    has no subscription at all.
    """
    return (
        subscription_list(tenant=tenant)
        .filter(tariff__metric=metric, starts_at__lte=at)
        .exclude(ends_at__lte=at)
        .first()
    )
