"""Billing's receivers of the signals of the apps below it, connected in
``BillingConfig.ready()``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from billing.services.credit_notes import credit_note_issue_for_revocation
from revocation.models import RevokedAttestation

logger = logging.getLogger("meterproof.billing")

__all__ = ["credit_note_on_attestation_revoked"]


def credit_note_on_attestation_revoked(
    sender: Any,
    *,
    revocation: RevokedAttestation,
    actor: Any = None,
    now: datetime | None = None,
    **kwargs: Any,
) -> None:
    """Receive ``revocation.signals.attestation_revoked``: issue the credit
    note of the revoked bundle's remaining amount (reason code
    ``revocation``), inside the revocation's transaction.

    Idempotent (:func:`credit_note_issue_for_revocation`): a bundle already
    credited in full gets nothing more. A revocation by ``bundle_hash``
    names no stored row (the server stores receipt ids and leaf hashes, not
    that hash): nothing is issued and a warning is logged; revoke by receipt
    id to credit it.

    Raises:
        As ``billing.services.credit_notes.credit_note_issue`` (the
        revocation is rolled back with it).
    """
    if not revocation.receipt_id:
        logger.warning(
            "attestation %s revoked by bundle hash: no credit note issued "
            "(revoke by receipt id to credit it)",
            revocation.bundle_hash,
        )
        return
    credit_note_issue_for_revocation(
        receipt_id=revocation.receipt_id,
        reason=revocation.reason,
        actor=actor,
        now=now,
    )
