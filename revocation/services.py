"""Writes of the revocation app: revocations, published snapshots, feed polls.

Every revocation change (add or lift) publishes a new signed snapshot with
``sequence + 1`` in the same transaction, so the feed never lags the table.
Lifting is a recorded action (who, why, when) on the revocation row, never a
delete. Snapshots are signed by the issuer key
(``billing.keyring.get_keyring().issuer``) through ``revocation.protocol``.

The feed poller (:func:`revocation_feed_poll`) fetches
``VDI_BILLING_REVOCATION_URL`` through an injected fetcher, retries transport
errors with exponential backoff and full jitter, verifies the snapshot against
the trust anchors' issuer keys and the last accepted one (rollback refused) and
records every poll as a :class:`RevocationFetch` row (the metric). A bad feed is
logged on ``meterproof.revocation`` and leaves the last good snapshot in force.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import nacl.signing
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from revocation.errors import (
    AlreadyLifted,
    AlreadyRevoked,
    RevocationFeedUnavailable,
    RevocationInputInvalid,
)
from revocation.models import (
    RevocationFetch,
    RevocationSnapshot,
    RevokedAttestation,
    RevokedKey,
)
from revocation.protocol.errors import RevocationError, RevocationFeedTooLargeError
from revocation.protocol.snapshot import (
    DEFAULT_MAX_BYTES,
    snapshot_open,
    snapshot_sign,
)
from revocation.protocol.snapshot import RevocationSnapshot as SnapshotDoc
from transparency.errors import FetchStatusError, FetchTooLargeError
from transparency.fetchers import http_request
from transparency.protocol.errors import FetchError
from transparency.protocol.jcs import canonical_json
from transparency.protocol.text import unstorable_char

logger = logging.getLogger("meterproof.revocation")
#: A revocation row (``RevokedKey`` or ``RevokedAttestation``) being lifted.
_Lifted = TypeVar("_Lifted", RevokedKey, RevokedAttestation)

#: Retry policy of the feed poller: attempts, first backoff and cap (seconds).
FETCH_ATTEMPTS = 4
FETCH_BACKOFF_BASE_SEC = 1.0
FETCH_BACKOFF_CAP_SEC = 30.0
#: Socket timeout of one fetch, seconds.
FETCH_TIMEOUT_SEC = 10.0

_KID_OR_ID = r"[\x21-\x7e]{1,128}"
#: An RFC 7638 thumbprint as this protocol writes kids: base64url (no
#: padding) of a 32-byte SHA-256 digest, 43 characters.
KID_PATTERN = r"[A-Za-z0-9_-]{43}"


class Fetcher(Protocol):
    """An HTTP GET: returns the body bytes of ``url`` (:func:`http_fetch`, or a
    test double).

    Raises ``OSError`` / :class:`RevocationFeedUnavailable` on transport
    errors (retried) and :class:`RevocationFeedTooLargeError` when the body
    exceeds ``max_bytes`` (refused, not retried).
    """

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        """Return the body of ``url``."""
        ...


def http_fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """Return the body of ``GET url`` through the project's one HTTP client
    (:func:`transparency.fetchers.http_request`), at most ``max_bytes`` long.

    Args:
        url: the feed URL (http or https).
        timeout: socket timeout, seconds.
        max_bytes: size cap of the body, bytes.

    Raises:
        RevocationFeedUnavailable: HTTP status other than 200, a scheme other
            than http/https, or a transport error (connection refused, DNS
            failure, timeout).
        RevocationFeedTooLargeError: the body (or its Content-Length) exceeds
            ``max_bytes``.
    """
    try:
        return http_request(
            url,
            headers={"Accept": "application/json", "User-Agent": "meterproof"},
            timeout_seconds=timeout,
            max_bytes=max_bytes,
            ok_statuses=(200,),
        )
    except FetchTooLargeError as exc:
        if exc.size_bytes is not None:
            message = (
                f"revocation feed Content-Length is {exc.size_bytes} bytes, the "
                f"limit is {max_bytes}"
            )
        else:
            message = f"revocation feed is over {max_bytes} bytes, the limit"
        raise RevocationFeedTooLargeError(message) from exc
    except FetchStatusError as exc:
        raise RevocationFeedUnavailable(f"HTTP {exc.status} from {url}") from exc
    except FetchError as exc:
        raise RevocationFeedUnavailable(exc.message) from exc


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


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
    import re

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


def issuer_keys() -> dict[str, nacl.signing.VerifyKey]:
    """Return the trusted issuer keys by kid, from the published trust anchors.

    Raises:
        SigningKeysUnconfigured: if the server has no keys.
    """
    from billing.selectors import trust_anchors_get

    return {key.kid: key.verify_key for key in trust_anchors_get().keys_for("issuer")}


# --------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------


@transaction.atomic
def revocation_snapshot_publish(*, now: datetime | None = None) -> RevocationSnapshot:
    """Sign and store the next snapshot of the revocations in force.

    ``sequence`` is the previous one plus one (0 for the first);
    ``snapshotTime`` is ``now`` in unix seconds, never below the previous
    snapshot's. Runs inside the caller's transaction when there is one.

    Raises:
        SigningKeysUnconfigured: no issuer key configured.
    """
    from billing.keyring import get_keyring

    issuer = get_keyring().issuer
    moment = now or timezone.now()
    latest = (
        RevocationSnapshot.objects.select_for_update().order_by("-sequence").first()
    )
    sequence = 0 if latest is None else latest.sequence + 1
    snapshot_time = int(moment.timestamp())
    if latest is not None:
        snapshot_time = max(snapshot_time, latest.snapshot_time)
    kids = RevokedKey.objects.filter(lifted_at__isnull=True).values_list(
        "kid", flat=True
    )
    attestations = [
        row.identifier
        for row in RevokedAttestation.objects.filter(lifted_at__isnull=True)
    ]
    document = snapshot_sign(
        revoked_kids=kids,
        revoked_attestations=attestations,
        snapshot_time=snapshot_time,
        sequence=sequence,
        signing_key=issuer.signing_key,
    )
    row = RevocationSnapshot(
        sequence=sequence,
        snapshot_time=snapshot_time,
        issuer_kid=issuer.kid,
        document=canonical_json(document).decode("utf-8"),
        kid_count=len(document["revokedKids"]),
        attestation_count=len(document["revokedAttestations"]),
    )
    row.full_clean()
    row.save()
    logger.info(
        "revocation snapshot %s published: %s kids, %s attestations",
        sequence,
        row.kid_count,
        row.attestation_count,
    )
    return row


def revocation_snapshot_ensure() -> RevocationSnapshot:
    """Return the latest published snapshot, publishing sequence 0 if none.

    Raises:
        SigningKeysUnconfigured: none published and no issuer key configured.
    """
    latest = RevocationSnapshot.objects.order_by("-sequence").first()
    return latest if latest is not None else revocation_snapshot_publish()


def revocation_snapshot_refresh(
    *, now: datetime | None = None, max_age_seconds: int | None = None
) -> RevocationSnapshot | None:
    """Re-sign the snapshot when the latest is older than half the freshness
    maximum (so published snapshots never go stale); return the new row, or
    ``None`` when the latest is still young.

    Args:
        now: the clock (default ``timezone.now()``).
        max_age_seconds: default ``VDI_BILLING_REVOCATION_MAX_AGE_SEC``.
    """
    moment = now or timezone.now()
    max_age = (
        max_age_seconds
        if max_age_seconds is not None
        else settings.VDI_BILLING_REVOCATION_MAX_AGE_SEC
    )
    latest = RevocationSnapshot.objects.order_by("-sequence").first()
    if (
        latest is not None
        and int(moment.timestamp()) - latest.snapshot_time < max_age // 2
    ):
        return None
    return revocation_snapshot_publish(now=moment)


def revocation_snapshot_refresh_lazily(
    *, now: datetime | None = None
) -> RevocationSnapshot | None:
    """Without Celery beat (``VDI_CELERY_BEAT`` false, development), re-sign
    our snapshot on demand: call before strict verification. Returns the new
    row, or ``None`` when nothing was done.

    Does nothing when beat runs (``revocation-snapshot-refresh`` does it, and
    a stale snapshot then honestly fails strict checks), when the snapshot in
    force comes from elsewhere (inline or URL source), when none was published
    yet (publishing the first stays an operator's act: strict checks fail
    closed with ``revocation_snapshot_missing`` until then), or when this
    server holds no issuer key. Otherwise behaves as :func:`revocation_snapshot_refresh`
    (re-signs once half of ``VDI_BILLING_REVOCATION_MAX_AGE_SEC`` has passed),
    so at most one write per half max-age.
    """
    from billing.errors import SigningKeysUnconfigured
    from revocation.selectors import (
        SOURCE_LOCAL,
        revocation_snapshot_latest,
        revocation_source,
    )

    if settings.VDI_CELERY_BEAT or revocation_source() != SOURCE_LOCAL:
        return None
    if revocation_snapshot_latest() is None:
        return None
    try:
        return revocation_snapshot_refresh(now=now)
    except SigningKeysUnconfigured:
        return None


# --------------------------------------------------------------------------
# Revocations
# --------------------------------------------------------------------------


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
    moment = now or timezone.now()
    row = RevokedKey(
        kid=kid,
        reason=reason,
        revoked_by=_actor_user(actor),
        revoked_by_label=_actor_label(actor, actor_label),
        revoked_at=moment,
    )
    row.full_clean(validate_constraints=False)
    row.save()
    revocation_snapshot_publish(now=moment)
    logger.warning(
        "kid %s revoked by %s: %s",
        kid,
        _log_text(row.revoked_by_label),
        _log_text(reason),
    )
    return row


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
    and publish a new snapshot.

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
    row = RevokedAttestation(
        receipt_id=receipt_id,
        bundle_hash=bundle_hash,
        reason=reason,
        revoked_by=_actor_user(actor),
        revoked_by_label=_actor_label(actor),
        revoked_at=moment,
    )
    row.full_clean(validate_constraints=False)
    row.save()
    revocation_snapshot_publish(now=moment)
    logger.warning(
        "attestation %s revoked by %s: %s",
        row.identifier,
        _log_text(row.revoked_by_label),
        _log_text(reason),
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
    row.lifted_at = max(moment, row.revoked_at)
    row.lifted_by = _actor_user(actor)
    row.lifted_by_label = _actor_label(actor)
    row.lift_reason = reason
    row.save(update_fields=["lifted_at", "lifted_by", "lifted_by_label", "lift_reason"])
    revocation_snapshot_publish(now=moment)
    logger.warning(
        "%s revocation lifted by %s: %s",
        what(row),
        _log_text(row.lifted_by_label),
        _log_text(reason),
    )
    return row


# --------------------------------------------------------------------------
# Polling VDI_BILLING_REVOCATION_URL
# --------------------------------------------------------------------------


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Return the sleep before retry ``attempt`` (1-based), in seconds:
    "full jitter" ``rng() * min(cap, base * 2**(attempt - 1))`` (base 1 s,
    cap 30 s)."""
    ceiling = min(FETCH_BACKOFF_CAP_SEC, FETCH_BACKOFF_BASE_SEC * 2 ** (attempt - 1))
    return rng() * ceiling


def last_accepted_fetch(url: str) -> RevocationFetch | None:
    """Return the latest ``accepted`` fetch of ``url`` (the last good snapshot)."""
    return (
        RevocationFetch.objects.filter(
            url=url, outcome=RevocationFetch.Outcome.ACCEPTED
        )
        .order_by("-id")
        .first()
    )


def _record(
    url: str,
    moment: datetime,
    outcome: str,
    *,
    attempts: int,
    error: Exception | None = None,
    snapshot: SnapshotDoc | None = None,
    document: str = "",
) -> RevocationFetch:
    code = getattr(error, "code", type(error).__name__ if error else "")
    message = getattr(error, "message", str(error)) if error else ""
    row = RevocationFetch.objects.create(
        url=url,
        fetched_at=moment,
        outcome=outcome,
        code=code,
        message=message[:2000],
        attempts=attempts,
        sequence=snapshot.sequence if snapshot else None,
        snapshot_time=snapshot.snapshot_time if snapshot else None,
        document=document,
    )
    if outcome in (
        RevocationFetch.Outcome.REFUSED,
        RevocationFetch.Outcome.UNREACHABLE,
    ):
        logger.warning(
            "revocation feed %s: %s [%s] url=%s attempts=%s; last good snapshot "
            "stays in force",
            outcome,
            message,
            code,
            url,
            attempts,
        )
    return row


def revocation_feed_poll(
    *,
    url: str | None = None,
    fetch: Fetcher = http_fetch,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    attempts: int = FETCH_ATTEMPTS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    force: bool = False,
) -> RevocationFetch | None:
    """Fetch, verify and record the revocation feed at ``url``; return the row.

    Skipped (returns ``None``) when ``url`` is unset or, unless ``force``, the
    last successful poll of ``url`` is younger than
    ``VDI_BILLING_REVOCATION_CACHE_SEC``. Transport errors are retried up to
    ``attempts`` times with full-jitter exponential backoff (``sleep`` and
    ``rng`` injected). The body is opened with
    :func:`revocation.protocol.snapshot.snapshot_open` against the trust
    anchors' issuer keys and the last accepted snapshot (rollback refused).

    Outcomes recorded (one :class:`RevocationFetch` row per poll):
    ``accepted`` (new snapshot, document kept), ``unchanged``, ``refused``
    (code: a ``revocation_*`` protocol code), ``unreachable`` (code
    ``revocation_feed_unreachable``). Never raises for a bad feed.

    Raises:
        SigningKeysUnconfigured: no trust anchors to verify against.
    """
    url = url if url is not None else settings.VDI_BILLING_REVOCATION_URL
    if not url:
        return None
    moment = now or timezone.now()
    if not force:
        last_ok = (
            RevocationFetch.objects.filter(
                url=url,
                outcome__in=[
                    RevocationFetch.Outcome.ACCEPTED,
                    RevocationFetch.Outcome.UNCHANGED,
                ],
            )
            .order_by("-id")
            .first()
        )
        cache = settings.VDI_BILLING_REVOCATION_CACHE_SEC
        if (
            last_ok is not None
            and (moment - last_ok.fetched_at).total_seconds() < cache
        ):
            return None
    keys = issuer_keys()
    body: bytes | None = None
    tried = 0
    last_error: Exception | None = None
    for tried in range(1, attempts + 1):
        try:
            body = fetch(url, timeout=FETCH_TIMEOUT_SEC, max_bytes=max_bytes)
            break
        except RevocationError as exc:  # too large: the content is bad, no retry
            return _record(
                url, moment, RevocationFetch.Outcome.REFUSED, attempts=tried, error=exc
            )
        except (OSError, RevocationFeedUnavailable) as exc:
            last_error = exc
            if tried < attempts:
                sleep(backoff_delay(tried, rng))
    if body is None:
        error = RevocationFeedUnavailable(
            f"revocation feed unreachable after {tried} attempts: {last_error}"
        )
        return _record(
            url,
            moment,
            RevocationFetch.Outcome.UNREACHABLE,
            attempts=tried,
            error=error,
        )

    good = last_accepted_fetch(url)
    previous: SnapshotDoc | None = None
    previous_sequence = good.sequence if good is not None else None
    if good is not None:
        try:
            previous = snapshot_open(good.document, keys)
        except RevocationError:
            previous = None  # e.g. issuer key rotated out: compare sequence only
    try:
        snapshot = snapshot_open(
            body,
            keys,
            previous_sequence=previous_sequence,
            previous=previous,
            max_bytes=max_bytes,
        )
    except RevocationError as exc:
        return _record(
            url, moment, RevocationFetch.Outcome.REFUSED, attempts=tried, error=exc
        )
    if good is not None and snapshot.sequence == good.sequence:
        return _record(
            url,
            moment,
            RevocationFetch.Outcome.UNCHANGED,
            attempts=tried,
            snapshot=snapshot,
        )
    logger.info("revocation feed %s accepted: sequence %s", url, snapshot.sequence)
    return _record(
        url,
        moment,
        RevocationFetch.Outcome.ACCEPTED,
        attempts=tried,
        snapshot=snapshot,
        document=body.decode("utf-8"),
    )
