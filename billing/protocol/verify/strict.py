"""The strict profile's key and revocation checks: ``kids_valid``,
``revocation_snapshot`` and ``not_revoked`` (docs/PROTOCOL.md §5.3).

Signing time per role (``kids_valid``): meter key -> the event's
``occurred_at``; issuer -> ``receipt.issued_at``; log operator -> the
checkpoint's ``Timestamp: <unix seconds>`` extension line, else
``receipt.issued_at``. A key is valid at ``t`` iff ``not_before <= t <
not_after`` (open bounds when null).
"""

from __future__ import annotations

from datetime import UTC, datetime

from kernel.protocol.errors import ProtocolError
from kernel.protocol.trustedkey import TrustedKey
from revocation.protocol.snapshot import attestation_bundle_hash, snapshot_check_fresh
from transparency.protocol.note import Note

from ..errors import CheckFailed, UnknownKeyError
from ..trust import TrustAnchors
from .checkpoints import checkpoint_time
from .context import CheckContext

__all__ = ["kids_valid", "not_revoked", "revocation_snapshot"]


def kids_valid(ctx: CheckContext) -> None:
    """Check each signing key was valid when it signed (see the module
    docstring for the signing time of each role).

    Raises:
        UnknownKeyError: (``unknown_kid``) a signer is not a trusted key.
        CheckFailed: ``kid_not_valid_at_signing_time``.
    """
    bundle = ctx.bundle
    meter = _require_key(ctx.trust, "meter", bundle.envelope.kid)
    _require_valid_at(meter, ctx.event.occurred_at_dt, "event.occurred_at")
    issuer = _require_key(ctx.trust, "issuer", bundle.issuer_kid)
    _require_valid_at(issuer, bundle.issued_at, "receipt.issued_at")
    if bundle.log is None:
        return  # absence is the log checks' failure, not this one's
    checkpoint, note = ctx.checkpoints.open(bundle.log.checkpoint)
    signed_at = checkpoint_time(checkpoint) or bundle.issued_at
    operators = ctx.checkpoints.log_operator_keys(note)
    if not operators:
        raise UnknownKeyError(
            "the checkpoint's log signature is by no trusted log_operator key",
            field="log.checkpoint",
        )
    if not any(key.is_valid_at(signed_at) for key in operators):
        _require_valid_at(operators[0], signed_at, "checkpoint Timestamp")


def revocation_snapshot(ctx: CheckContext) -> None:
    """Check the revocation snapshot is present, signed by an issuer key
    trusted at its ``snapshot_time`` and fresh; the report's ``revocation``
    records ``{sequence, snapshot_time, age_seconds, issuer_kid}``.

    Raises:
        ProtocolError: the verifier's ``revocation_problem`` (why no snapshot
            could be opened).
        CheckFailed: ``revocation_snapshot_missing``,
            ``revocation_issuer_untrusted``.
        RevocationStaleError: (``revocation_snapshot_stale``) too old.
    """
    if ctx.revocation is None and ctx.revocation_problem is not None:
        raise ctx.revocation_problem
    snapshot = ctx.require_snapshot()
    now = ctx.clock()
    ctx.report.revocation = {
        "sequence": snapshot.sequence,
        "snapshot_time": snapshot.snapshot_time,
        "age_seconds": snapshot.age_seconds(now),
        "issuer_kid": snapshot.issuer_kid,
    }
    issuer = ctx.trust.key("issuer", snapshot.issuer_kid)
    made_at = datetime.fromtimestamp(snapshot.snapshot_time, UTC)
    if issuer is None or not issuer.is_valid_at(made_at):
        raise CheckFailed(
            "revocation_issuer_untrusted",
            f"revocation snapshot is signed by issuer kid "
            f"{snapshot.issuer_kid}, which is not a trusted issuer key "
            f"valid at its snapshot_time {snapshot.snapshot_time}",
            field="revocation.issuer_kid",
        )
    snapshot_check_fresh(
        snapshot, now=now, max_age_seconds=ctx.max_snapshot_age_seconds
    )


def not_revoked(ctx: CheckContext) -> None:
    """Check no key that signed the bundle (meter, issuer, log operator) and
    not the attestation itself is revoked, by the snapshot or by the trust
    anchors' ``status``.

    Raises:
        CheckFailed: ``revocation_snapshot_missing``, ``kid_revoked``,
            ``attestation_revoked``.
    """
    snapshot = ctx.require_snapshot()
    bundle = ctx.bundle
    kids = [("meter", bundle.envelope.kid), ("issuer", bundle.issuer_kid)]
    if bundle.log is not None:
        note: Note | None
        try:
            _, note = ctx.checkpoints.open(bundle.log.checkpoint)
        except ProtocolError:
            note = None  # reported by checkpoint_signature
        if note is not None:
            kids.extend(
                ("log_operator", key.kid)
                for key in ctx.checkpoints.log_operator_keys(note)
            )
    for role, kid in kids:
        listed = ctx.trust.key(role, kid)
        if snapshot.is_kid_revoked(kid) or (
            listed is not None and listed.status == "revoked"
        ):
            raise CheckFailed(
                "kid_revoked",
                f"{role} kid {kid} is revoked (snapshot sequence {snapshot.sequence})",
                field=role,
            )
    if snapshot.is_attestation_revoked(
        bundle.receipt_id, attestation_bundle_hash(ctx.attestation)
    ):
        raise CheckFailed(
            "attestation_revoked",
            f"attestation {bundle.receipt_id} is revoked (snapshot "
            f"sequence {snapshot.sequence})",
            field="attestation.receipt.receipt_id",
        )


def _require_key(trust: TrustAnchors, role: str, kid: str) -> TrustedKey:
    key = trust.key(role, kid)
    if key is None:
        raise UnknownKeyError(f"{role} kid {kid} is not trusted", field=role)
    return key


def _require_valid_at(key: TrustedKey, moment: datetime, what: str) -> None:
    if not key.is_valid_at(moment):
        window = (
            f"[{key.not_before.isoformat() if key.not_before else '-inf'}, "
            f"{key.not_after.isoformat() if key.not_after else '+inf'})"
        )
        raise CheckFailed(
            "kid_not_valid_at_signing_time",
            f"{key.role} kid {key.kid} is valid in {window}, but signed at "
            f"{moment.isoformat()} ({what})",
            field=key.role,
        )
