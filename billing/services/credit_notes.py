"""Issue credit notes: a signed, logged negative amount correcting one bundle.

:func:`credit_note_issue` is the one writer of ``CreditNote`` rows (staff in
the admin, a revocation through :func:`credit_note_issue_for_revocation`, a
won dispute). In one transaction it locks the original bundle's row, checks
the amount against what is left of the original, picks the billing period the
credit nets into under that period's row lock (the lock closing a period
takes, so a statement either includes the credit note or the credit goes to
the next open period), signs the ``vdi-billing-credit-note/1`` body with the
issuer key, queues its log leaf and stores the row. After the commit the leaf
is sequenced (a failure leaves it queued for ``log_tick``; the file's ``log``
evidence is recomputed on every read). Spec: docs/PROTOCOL.md §12.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audittrail.services import audit_actor, audit_record
from billing.errors import (
    CreditNoteAmountInvalid,
    CreditNoteExceedsOriginal,
    CreditNotePeriodClosed,
    CreditNoteReasonInvalid,
)
from billing.keyring import Keyring, get_keyring
from billing.models import Bundle, CreditNote, Tenant
from billing.protocol.credit_note import (
    CREDIT_NOTE_REASON_CODES,
    MAX_REASON_TEXT_CHARS,
    build_credit_note,
    credit_note_id_new,
    credit_note_leaf_data,
)
from billing.selectors_credit_notes import credit_note_file_get
from billing.services.periods import billing_period_lock
from kernel.protocol.text import unstorable_char
from transparency.services import log_enqueue, log_heal, log_sequence

logger = logging.getLogger("meterproof.billing")

__all__ = [
    "credit_note_file_get_sequenced",
    "credit_note_issue",
    "credit_note_issue_for_revocation",
    "credit_note_remaining_minor",
]


def credit_note_remaining_minor(*, bundle: Bundle) -> int:
    """Return what is left of ``bundle``'s amount after its credit notes:
    ``amount_minor`` + Σ credit notes' (negative) ``amount_minor``, integer
    minor units, never below 0 for rows this service wrote."""
    credited = CreditNote.objects.filter(bundle=bundle).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return int(bundle.amount_minor) + int(credited or 0)


def _target_period(*, tenant: Tenant, original_period: str, now: datetime) -> str:
    """Return the period the credit nets into: the original's while it is
    open, else the current month (UTC) of ``now``; each checked under its
    period row lock (``billing_period_lock``, the lock closing a period
    takes), held until the transaction ends.

    Raises:
        CreditNotePeriodClosed: both periods are closed.
    """
    row = billing_period_lock(tenant=tenant, period=original_period)
    if row.closed_at is None:
        return original_period
    current = now.astimezone(UTC).strftime("%Y-%m")
    row = billing_period_lock(tenant=tenant, period=current)
    if row.closed_at is None:
        return current
    raise CreditNotePeriodClosed(
        f"periods {original_period} (the original's) and {current} (the "
        "current one) are both closed; a credit note nets into an open period",
        field="period",
    )


def _reason(code: str, text: str) -> tuple[str, str]:
    if code not in CREDIT_NOTE_REASON_CODES:
        raise CreditNoteReasonInvalid(
            f"reason code must be one of {', '.join(CREDIT_NOTE_REASON_CODES)}, "
            f"found {code!r}",
            field="reason_code",
        )
    text = (text or "").strip()
    bad = unstorable_char(text)
    if bad is not None or len(text) > MAX_REASON_TEXT_CHARS:
        raise CreditNoteReasonInvalid(
            f"reason text must be at most {MAX_REASON_TEXT_CHARS} characters "
            "of Unicode text without NUL or lone surrogates"
            + (f", found {bad}" if bad else f", found {len(text)}"),
            field="reason_text",
        )
    return code, text


@transaction.atomic
def credit_note_issue(
    *,
    bundle: Bundle,
    amount_minor: int,
    reason_code: str,
    reason_text: str,
    actor: Any = None,
    now: datetime | None = None,
    keyring: Keyring | None = None,
) -> CreditNote:
    """Issue a credit note of ``amount_minor`` (negative, integer minor units
    of the bundle's currency) against ``bundle``; return the stored row.

    One transaction: the bundle's row lock (concurrent credits of one bundle
    queue), the amount check against what is left
    (:func:`credit_note_remaining_minor`), the period (the original's event
    window while its ``BillingPeriod`` is open, else the month of ``now``),
    the signature, the queued log leaf and the row. The leaf is sequenced
    after the commit.

    Args:
        bundle: the original bundle.
        amount_minor: the credit, < 0; its magnitude at most what is left.
        reason_code: ``revocation``, ``dispute`` or ``correction``.
        reason_text: free text, at most 1,000 characters (may be empty).
        actor: the staff user, a label (``"system:<command>"``,
            ``"tenant:<slug>"``) or ``None`` for "system"; recorded on the
            row and in the staff audit trail (``credit_note.issue``).
        now: the clock (default ``timezone.now()``): ``issued_at``.
        keyring: the server's keys (default :func:`get_keyring`).

    Raises:
        CreditNoteAmountInvalid: ``amount_minor`` is not a negative integer.
        CreditNoteExceedsOriginal: its magnitude exceeds what is left.
        CreditNoteReasonInvalid: an unknown code or a bad text.
        CreditNotePeriodClosed: no open period to net into.
        SigningKeysUnconfigured: the server has no issuer key.
        Nothing is stored when any is raised.
    """
    if type(amount_minor) is not int or amount_minor >= 0:
        raise CreditNoteAmountInvalid(
            f"amount_minor must be a negative integer (minor units), found "
            f"{amount_minor!r}",
            field="amount_minor",
        )
    code, text = _reason(reason_code, reason_text)
    keyring = keyring or get_keyring()
    moment = now or timezone.now()
    original = (
        Bundle.objects.select_for_update()
        .select_related("tenant", "meter_event")
        .get(pk=bundle.pk)
    )
    remaining = credit_note_remaining_minor(bundle=original)
    if -amount_minor > remaining:
        raise CreditNoteExceedsOriginal(
            f"a credit of {-amount_minor} exceeds what is left of "
            f"{original.receipt_id}: {remaining} of {original.amount_minor} "
            f"{original.currency} (minor units)",
            field="amount_minor",
        )
    window = original.meter_event.window
    period = _target_period(tenant=original.tenant, original_period=window, now=moment)
    assert original.leaf_hash is not None
    body = build_credit_note(
        credit_note_id=credit_note_id_new(secrets.token_bytes(12)),
        tenant=original.tenant.slug,
        period=period,
        currency=original.currency,
        amount_minor=amount_minor,
        original={
            "receipt_id": original.receipt_id,
            "leaf_hash": original.leaf_hash,
            "period": window,
            "amount_minor": original.amount_minor,
        },
        reason_code=code,
        reason_text=text,
        issued_at=moment,
        issuer=keyring.issuer,
    )
    (leaf,) = log_enqueue(entries=[credit_note_leaf_data(body)])
    actor_id, actor_label = audit_actor(actor)
    row = CreditNote(
        credit_note_id=body["credit_note_id"],
        tenant=original.tenant,
        bundle=original,
        period=period,
        currency=original.currency,
        amount_minor=amount_minor,
        reason_code=code,
        reason_text=text,
        leaf_hash=leaf,
        document=json.dumps(body, separators=(",", ":"), sort_keys=True),
        issued_at=moment,
        issued_by_id=actor_id,
        issued_by_label=actor_label[:150],
    )
    row.full_clean()
    row.save()
    audit_record(
        actor=actor,
        action="credit_note.issue",
        obj_type="credit_note",
        obj_id=row.credit_note_id,
        before=None,
        after={
            "credit_note_id": row.credit_note_id,
            "receipt_id": original.receipt_id,
            "period": period,
            "amount_minor": amount_minor,
            "currency": original.currency,
            "reason_code": code,
            "reason_text": text,
            "leaf_hash": leaf,
        },
    )
    transaction.on_commit(lambda: _sequence(leaf, keyring))
    logger.info(
        "credit note %s of %s %s on %s (%s) into %s",
        row.credit_note_id,
        amount_minor,
        original.currency,
        original.receipt_id,
        code,
        period,
    )
    return row


def _sequence(leaf: str, keyring: Keyring) -> None:
    """Sequence a committed credit note's leaf; on failure it stays queued
    (``log_tick`` sequences it; reads show the file without ``log``)."""
    try:
        log_sequence(
            leaf_hashes=[leaf], signer=keyring.log_signer, origin=keyring.log_origin
        )
    except Exception:
        logger.exception("sequencing credit note leaf %s failed; left queued", leaf)


def credit_note_issue_for_revocation(
    *, receipt_id: str, reason: str, actor: Any = None, now: datetime | None = None
) -> CreditNote | None:
    """Issue the credit note of a revoked attestation: the whole amount left
    of the bundle ``receipt_id``, reason code ``revocation`` with the
    revocation's ``reason`` (cut to 1,000 characters) as text.

    Idempotent: returns ``None`` and issues nothing when no bundle has this
    receipt id (an attestation of another server) or nothing is left of it
    (already credited, e.g. revoked before, or an amount of 0). Called by the
    ``revocation.signals.attestation_revoked`` receiver inside the
    revocation's transaction, so both commit or neither does.

    Raises:
        As :func:`credit_note_issue` (the revocation is rolled back).
    """
    bundle = Bundle.objects.filter(receipt_id=receipt_id).first()
    if bundle is None:
        return None
    with transaction.atomic():
        locked = Bundle.objects.select_for_update().get(pk=bundle.pk)
        remaining = credit_note_remaining_minor(bundle=locked)
        if remaining <= 0:
            return None
        return credit_note_issue(
            bundle=locked,
            amount_minor=-remaining,
            reason_code="revocation",
            reason_text=(reason or "")[:MAX_REASON_TEXT_CHARS],
            actor=actor,
            now=now,
        )


def credit_note_file_get_sequenced(
    *, credit_note_id: str, tenant: Tenant | None = None
) -> dict[str, Any]:
    """Return the credit-note file like
    :func:`billing.selectors_credit_notes.credit_note_file_get`, first
    sequencing its leaf if it is still queued (an issue interrupted after
    its commit), as ``bundle_get_sequenced`` does for bundles.

    Raises:
        CreditNoteNotFound: no such credit note (for this tenant).
    """
    document = credit_note_file_get(credit_note_id=credit_note_id, tenant=tenant)
    if "log" in document:
        return document
    leaf = (
        CreditNote.objects.filter(credit_note_id=credit_note_id)
        .values_list("leaf_hash", flat=True)
        .first()
    )
    keyring = get_keyring()
    if leaf is not None and log_heal(
        leaf_hashes=[leaf], signer=keyring.log_signer, origin=keyring.log_origin
    ):
        document = credit_note_file_get(credit_note_id=credit_note_id, tenant=tenant)
    return document
