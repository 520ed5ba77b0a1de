"""Reads of the billing app."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet

from billing.errors import BundleNotFound
from billing.keyring import Keyring, get_keyring
from billing.models import Bundle, MeterKey, Tenant
from billing.protocol.keys import b64url_decode
from billing.protocol.trust import TrustAnchors, TrustedKey


def tenant_meter_keys() -> tuple[TrustedKey, ...]:
    """Return every registered tenant gateway meter key as a trust anchor."""
    import nacl.signing

    return tuple(
        TrustedKey(
            kid=row.kid,
            role="meter",
            verify_key=nacl.signing.VerifyKey(b64url_decode(row.public_key_b64url)),
            tenant=row.tenant.slug,
            not_before=row.not_before,
            not_after=row.not_after,
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


def bundle_get(*, receipt_id: str, tenant: Tenant | None = None) -> dict[str, Any]:
    """Return a stored bundle (parsed JSON); ``tenant`` scopes the lookup.

    Raises:
        BundleNotFound: no such receipt (for this tenant).
    """
    rows = Bundle.objects.filter(receipt_id=receipt_id)
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    document = rows.values_list("document", flat=True).first()
    if document is None:
        raise BundleNotFound(f"no bundle {receipt_id}", field="receipt_id")
    return json.loads(document)


def bundle_list(
    *, tenant: Tenant | None = None, window: str | None = None
) -> QuerySet[Bundle]:
    """Return bundles ordered by log position, optionally by tenant and window."""
    rows = Bundle.objects.select_related("tenant", "meter_event").order_by(
        "log_entry_id"
    )
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    if window is not None:
        rows = rows.filter(meter_event__window=window)
    return rows
