"""Revoking and lifting key IDs and attestations (writes).

Every revocation change (add or lift) publishes a new signed snapshot with
``sequence + 1`` in the same transaction, so the feed never lags the table.
Lifting is a recorded action (who, why, when) on the revocation row, never a
delete. Each add or lift also appends one record to the staff audit trail in
the same transaction (``revocation.key_add``, ``revocation.key_lift``,
``revocation.attestation_add``, ``revocation.attestation_lift``;
:func:`audittrail.services.audit_record`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from audittrail.services import audit_record, audit_snapshot
from kernel.protocol.text import unstorable_char
from revocation.errors import AlreadyLifted, AlreadyRevoked, RevocationInputInvalid
from revocation.models import RevokedAttestation, RevokedKey
from revocation.services.snapshots import revocation_snapshot_publish
from revocation.signals import attestation_revoked

logger = logging.getLogger("meterproof.revocation")
#: A revocation row (``RevokedKey`` or ``RevokedAttestation``) being added
#: or lifted.
_Lifted = TypeVar("_Lifted", RevokedKey, RevokedAttestation)

_KID_OR_ID = r"[\x21-\x7e]{1,128}"
#: An RFC 7638 thumbprint as this protocol writes kids: base64url (no
#: padding) of a 32-byte SHA-256 digest, 43 characters.
KID_PATTERN = r"[A-Za-z0-9_-]{43}"


#: Fields of a revocation row the audit trail records.
_AUDIT_FIELDS = (
    "reason",
    "revoked_by_label",
    "revoked_at",
    "lifted_at",
    "lifted_by_label",
    "lift_reason",
)


def _audit(
    row: RevokedKey | RevokedAttestation,
    *,
    verb: str,
    actor: Any,
    before: dict[str, Any] | None,
) -> None:
    """Append ``revocation.<key|attestation>_<verb>`` for ``row``."""
    kind = "key" if isinstance(row, RevokedKey) else "attestation"
    audit_record(
        actor=actor,
        action=f"revocation.{kind}_{verb}",
        obj_type=f"revoked_{kind}",
        obj_id=row.pk,
        before=before,
        after=_audit_state(row),
    )


def _audit_state(row: RevokedKey | RevokedAttestation) -> dict[str, Any]:
    names = ("kid",) if isinstance(row, RevokedKey) else ("receipt_id", "bundle_hash")
    return audit_snapshot(row, (*names, *_AUDIT_FIELDS)) or {}


def _actor_label(actor: Any, label: str | None = None) -> str:
    if actor is not None:
        return str(actor.get_username())
    return label or "system"


def _actor_user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _log_text(text: str) -> str:
    """Return free text (a reason, a user name) safe for one log line: control
    characters (newline, carriage return, escape, ...) and backslashes escaped
    as Python string escapes, so input can never start a forged log line."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch == "\\" or not ch.isprintable()
        else ch
        for ch in text
    )


def _require(value: str, field: str, pattern: str, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise RevocationInputInvalid(f"{field} must be {what}", field=field)
    return value


def _reason(reason: str, field: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise RevocationInputInvalid(f"{field} must not be empty", field=field)
    bad = unstorable_char(text)
    if bad is not None:
        # PostgreSQL text cannot hold U+0000; a lone surrogate has no UTF-8.
        raise RevocationInputInvalid(
            f"{field} must be Unicode text without NUL or lone surrogates, found {bad}",
            field=field,
        )
    return text


@transaction.atomic
def revocation_key_add(
    *,
    kid: str,
    reason: str,
    actor: Any = None,
    actor_label: str | None = None,
    now: datetime | None = None,
) -> RevokedKey:
    """Revoke key ID ``kid`` and publish a new snapshot.

    Args:
        kid: the RFC 7638 thumbprint (43 base64url characters).
        reason: why (required, free text; logged escaped, one line).
        actor: the staff user (``request.user``), or ``None``.
        actor_label: who acted when ``actor`` is ``None`` (e.g.
            ``tenant:acme`` for a tenant's API call); default "system".
        now: the clock (default ``timezone.now()``).

    Raises:
        RevocationInputInvalid: a kid that is not 43 base64url characters,
            or an empty reason.
        AlreadyRevoked: ``kid`` already has a revocation in force.
        SigningKeysUnconfigured: no issuer key (nothing is stored).
    """
    kid = _require(
        (kid or "").strip(),
        "kid",
        KID_PATTERN,
        "an RFC 7638 key ID (43 base64url characters)",
    )
    reason = _reason(reason)
    if (
        RevokedKey.objects.select_for_update()
        .filter(kid=kid, lifted_at__isnull=True)
        .exists()
    ):
        raise AlreadyRevoked(f"kid {kid} is already revoked", field="kid")
    return _revoke(
        RevokedKey(kid=kid),
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        now=now,
        what=f"kid {kid}",
    )


@transaction.atomic
def revocation_key_lift(
    *,
    revoked_key: RevokedKey,
    reason: str,
    actor: Any = None,
    now: datetime | None = None,
) -> RevokedKey:
    """Lift a key revocation (recorded: who, why, when) and publish a snapshot.

    Raises:
        RevocationInputInvalid: empty reason.
        AlreadyLifted: the revocation was lifted before.
    """
    return _lift(
        RevokedKey.objects.select_for_update().get(pk=revoked_key.pk),
        reason=reason,
        actor=actor,
        now=now,
        what=lambda row: f"kid {row.kid}",
    )


@transaction.atomic
def revocation_attestation_add(
    *,
    reason: str,
    receipt_id: str = "",
    bundle_hash: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> RevokedAttestation:
    """Revoke an attestation by ``receipt_id`` or ``bundle_hash`` (exactly one)
    and publish a new snapshot; then send
    :data:`revocation.signals.attestation_revoked` in the same transaction
    (billing's receiver issues the matching credit note).

    Args:
        reason: why (required).
        receipt_id: the receipt id (``rcpt_...``).
        bundle_hash: SHA-256 lowercase hex of JCS of the signed attestation
            object (``revocation.protocol.snapshot.attestation_bundle_hash``).
        actor: the staff user, or ``None`` for "system".
        now: the clock.

    Raises:
        RevocationInputInvalid: neither or both identifiers, a malformed one,
            or an empty reason.
        AlreadyRevoked: that identifier already has a revocation in force.
    """
    receipt_id = (receipt_id or "").strip()
    bundle_hash = (bundle_hash or "").strip()
    if bool(receipt_id) == bool(bundle_hash):
        raise RevocationInputInvalid(
            "give exactly one of receipt_id or bundle_hash", field="receipt_id"
        )
    if receipt_id:
        _require(receipt_id, "receipt_id", _KID_OR_ID, "a receipt id")
        lookup = {"receipt_id": receipt_id}
    else:
        _require(bundle_hash, "bundle_hash", "[0-9a-f]{64}", "64 lowercase hex")
        lookup = {"bundle_hash": bundle_hash}
    reason = _reason(reason)
    if (
        RevokedAttestation.objects.select_for_update()
        .filter(lifted_at__isnull=True, **lookup)
        .exists()
    ):
        raise AlreadyRevoked(
            f"attestation {receipt_id or bundle_hash} is already revoked",
            field=next(iter(lookup)),
        )
    moment = now or timezone.now()
    row = _revoke(
        RevokedAttestation(receipt_id=receipt_id, bundle_hash=bundle_hash),
        reason=reason,
        actor=actor,
        now=moment,
        what=f"attestation {receipt_id or bundle_hash}",
    )
    # Billing issues the matching credit note (same transaction).
    attestation_revoked.send(
        sender=RevokedAttestation, revocation=row, actor=actor, now=moment
    )
    return row


@transaction.atomic
def revocation_attestation_lift(
    *,
    revoked_attestation: RevokedAttestation,
    reason: str,
    actor: Any = None,
    now: datetime | None = None,
) -> RevokedAttestation:
    """Lift an attestation revocation (recorded) and publish a snapshot.

    Raises:
        RevocationInputInvalid: empty reason.
        AlreadyLifted: the revocation was lifted before.
    """
    return _lift(
        RevokedAttestation.objects.select_for_update().get(pk=revoked_attestation.pk),
        reason=reason,
        actor=actor,
        now=now,
        what=lambda row: f"attestation {row.identifier}",
    )


def _revoke(
    row: _Lifted,
    *,
    reason: str,
    actor: Any,
    now: datetime | None,
    what: str,
    actor_label: str | None = None,
) -> _Lifted:
    """Record who revoked the new ``row``, why and when, save it, publish a
    snapshot and log it (``what`` names the revoked thing); return the row."""
    moment = now or timezone.now()
    row.reason = reason
    row.revoked_by = _actor_user(actor)
    row.revoked_by_label = _actor_label(actor, actor_label)
    row.revoked_at = moment
    row.full_clean(validate_constraints=False)
    row.save()
    _audit(
        row,
        verb="add",
        actor=actor if actor is not None else actor_label,
        before=None,
    )
    revocation_snapshot_publish(now=moment)
    logger.warning(
        "%s revoked by %s: %s",
        what,
        _log_text(row.revoked_by_label),
        _log_text(reason),
    )
    return row


def _lift(
    row: _Lifted,
    *,
    reason: str,
    actor: Any,
    now: datetime | None,
    what: Callable[[_Lifted], str],
) -> _Lifted:
    """Record the lift of a locked revocation row (who, why, when; never
    before its ``revoked_at``), publish a snapshot, log it; return the row.

    Raises:
        RevocationInputInvalid: empty reason.
        AlreadyLifted: the revocation was lifted before.
    """
    reason = _reason(reason, "lift_reason")
    if row.lifted_at is not None:
        raise AlreadyLifted(
            f"revocation of {what(row)} was lifted at {row.lifted_at.isoformat()}"
        )
    moment = now or timezone.now()
    before = _audit_state(row)
    row.lifted_at = max(moment, row.revoked_at)
    row.lifted_by = _actor_user(actor)
    row.lifted_by_label = _actor_label(actor)
    row.lift_reason = reason
    row.save(update_fields=["lifted_at", "lifted_by", "lifted_by_label", "lift_reason"])
    _audit(row, verb="lift", actor=actor, before=before)
    revocation_snapshot_publish(now=moment)
    logger.warning(
        "%s revocation lifted by %s: %s",
        what(row),
        _log_text(row.lifted_by_label),
        _log_text(reason),
    )
    return row
