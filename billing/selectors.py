"""Reads of the billing app."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from billing.errors import BundleNotFound
from billing.keyring import Keyring, get_keyring
from billing.models import Bundle, MeterKey, TariffVersion, Tenant
from billing.protocol.keys import b64url_decode
from billing.protocol.timefmt import format_rfc3339_utc
from billing.protocol.trust import TrustAnchors, TrustedKey
from transparency.selectors import log_evidence_list


def tenant_meter_keys() -> tuple[TrustedKey, ...]:
    """Return every registered tenant gateway meter key as a trust anchor
    (``status`` retired once its ``not_after`` has passed)."""
    import nacl.signing
    from django.utils import timezone

    now = timezone.now()
    return tuple(
        TrustedKey(
            kid=row.kid,
            role="meter",
            verify_key=nacl.signing.VerifyKey(b64url_decode(row.public_key_b64url)),
            tenant=row.tenant.slug,
            not_before=row.not_before,
            not_after=row.not_after,
            status="retired"
            if row.not_after is not None and row.not_after <= now
            else "active",
        )
        for row in MeterKey.objects.select_related("tenant").order_by("id")
    )


def trust_anchors_get(keyring: Keyring | None = None) -> TrustAnchors:
    """Return the trust anchors this server publishes at
    ``/.well-known/vdi-billing-trust.json``.

    Raises:
        SigningKeysUnconfigured: if the server has no keys.
    """
    keyring = keyring or get_keyring()
    return keyring.trust_anchors(tenant_meter_keys())


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
    evidence = log_evidence_list(leaf_hashes=[leaf for _, leaf, _ in triples if leaf])
    documents = []
    for text, leaf, proof in triples:
        document = json.loads(text)
        document.pop("log", None)
        if proof is not None:
            document["billing_proof"] = json.loads(proof)
        if leaf is not None and leaf in evidence:
            document["log"] = evidence[leaf]
        documents.append(document)
    return documents


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


def meter_key_list(*, tenant: Tenant) -> QuerySet[MeterKey]:
    """Return the tenant's registered gateway meter keys, oldest first."""
    return MeterKey.objects.filter(tenant=tenant).order_by("created_at", "id")


def meter_key_get(*, tenant: Tenant, kid: str) -> MeterKey:
    """Return the tenant's meter key ``kid``.

    Raises:
        MeterKeyNotFound: no such key for this tenant.
    """
    from billing.errors import MeterKeyNotFound

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
    code); nothing for other profiles. The meta dict is
    ``revocation.selectors.revocation_snapshot_for_verification``'s (``source``,
    ``fetched_at``, ``last_error``, ``max_age_seconds``), empty if not strict.

    Used by ``POST /api/vdi/billing/verify`` and the auditor UI: one setup.
    """
    from billing.protocol.verify import PROFILE_STRICT, CheckFailed
    from revocation.selectors import revocation_snapshot_for_verification

    if profile != PROFILE_STRICT:
        return {}, {}
    snapshot, meta = revocation_snapshot_for_verification()
    options: dict[str, Any] = {
        "revocation": snapshot,
        "max_snapshot_age_seconds": meta["max_age_seconds"],
    }
    problem = meta.get("last_error")
    if snapshot is None and problem:
        options["revocation_problem"] = CheckFailed(
            str(problem["code"]), str(problem["message"]), field="revocation"
        )
    return options, meta


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
