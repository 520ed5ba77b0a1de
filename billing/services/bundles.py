"""Reads of bundles that may first finish an interrupted sequencing."""

from __future__ import annotations

from typing import Any

from billing.keyring import get_keyring
from billing.models import Bundle, Tenant
from billing.selectors import bundle_get
from transparency.services import log_heal


def bundle_get_sequenced(
    *, receipt_id: str, tenant: Tenant | None = None
) -> dict[str, Any]:
    """Return a stored bundle like ``billing.selectors.bundle_get``, first
    sequencing its leaf if it is still queued (an attest interrupted after its
    commit), so the answer carries log evidence without waiting for Celery
    beat's ``log_tick``. Costs one extra indexed query only for a bundle that
    lacks evidence; a sequencing failure still returns the bundle, without it.

    Raises:
        BundleNotFound: no such receipt (for this tenant).
    """
    document = bundle_get(receipt_id=receipt_id, tenant=tenant)
    if "log" in document:
        return document
    leaf = (
        Bundle.objects.filter(receipt_id=receipt_id)
        .values_list("leaf_hash", flat=True)
        .first()
    )
    if leaf is None:
        return document
    keyring = get_keyring()
    if log_heal(
        leaf_hashes=[leaf], signer=keyring.log_signer, origin=keyring.log_origin
    ):
        document = bundle_get(receipt_id=receipt_id, tenant=tenant)
    return document
