"""Reads of the revocation app: the latest published snapshot and the snapshot
in force for verification (from the configured source)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kernel.errors import SigningKeysUnconfigured
from kernel.protocol.errors import MeterproofError
from revocation.models import RevocationFetch, RevocationSnapshot, RevokedKey
from revocation.protocol.errors import RevocationError
from revocation.protocol.snapshot import VerifiedRevocationSnapshot, snapshot_open
from revocation.services.snapshots import issuer_keys, revocation_snapshot_ensure
from revocation.settings import revocation_settings
from revocation.sources import (
    SOURCE_INLINE,
    SOURCE_URL,
    revocation_source,
)


def revocation_snapshot_latest() -> RevocationSnapshot | None:
    """Return the latest snapshot this server published (highest sequence),
    or ``None`` if none was published yet."""
    return RevocationSnapshot.objects.order_by("-sequence").first()


def _error(exc: MeterproofError) -> dict[str, str]:
    return {"code": exc.code, "message": exc.message}


def revocation_snapshot_for_verification() -> tuple[
    VerifiedRevocationSnapshot | None, dict[str, Any]
]:
    """Return the snapshot in force for strict verification, and where from.

    The snapshot is re-verified against the current trust anchors' issuer keys
    on every call (a removed issuer key withdraws its snapshots). Freshness is
    *not* checked here: the caller runs
    ``revocation.protocol.snapshot.snapshot_check_fresh`` with
    ``meta["max_age_seconds"]`` and fails closed on ``None``. The local
    source publishes its first snapshot (sequence 0) when none exists yet, as
    the feed endpoint does (``revocation_snapshot_ensure``).

    Returns:
        ``(snapshot | None, meta)`` where ``meta`` is ``{"source": "inline" |
        "url" | "local", "fetched_at": RFC 3339 UTC | None (url: last
        successful poll; local: publish time), "last_error": {"code",
        "message"} | None, "max_age_seconds": int}``; ``url`` sources add
        ``"url"``. ``last_error`` is the latest failed poll if it is newer than
        the last successful one, or why no snapshot could be loaded.
    """

    source = revocation_source()
    meta: dict[str, Any] = {
        "source": source,
        "fetched_at": None,
        "last_error": None,
        "max_age_seconds": revocation_settings.revocation_max_age_seconds,
    }
    try:
        keys = issuer_keys()
    except SigningKeysUnconfigured as exc:
        meta["last_error"] = _error(exc)
        return None, meta

    if source == SOURCE_INLINE:
        try:
            return snapshot_open(revocation_settings.revocation_json, keys), meta
        except RevocationError as exc:
            meta["last_error"] = _error(exc)
            return None, meta

    if source == SOURCE_URL:
        url = revocation_settings.revocation_url
        meta["url"] = url
        rows = RevocationFetch.objects.filter(url=url).order_by("-id")
        latest = rows.first()
        last_ok = rows.filter(
            outcome__in=[
                RevocationFetch.Outcome.ACCEPTED,
                RevocationFetch.Outcome.UNCHANGED,
            ]
        ).first()
        if last_ok is not None:
            meta["fetched_at"] = last_ok.fetched_at.isoformat().replace("+00:00", "Z")
        if latest is not None and latest.outcome in (
            RevocationFetch.Outcome.REFUSED,
            RevocationFetch.Outcome.UNREACHABLE,
        ):
            meta["last_error"] = {"code": latest.code, "message": latest.message}
        good = rows.filter(outcome=RevocationFetch.Outcome.ACCEPTED).first()
        if good is None:
            meta["last_error"] = meta["last_error"] or {
                "code": "revocation_snapshot_missing",
                "message": f"no snapshot fetched from {url} yet",
            }
            return None, meta
        try:
            return snapshot_open(good.document, keys), meta
        except RevocationError as exc:
            meta["last_error"] = _error(exc)
            return None, meta

    # Our own feed publishes its first snapshot (sequence 0) on first use,
    # exactly as GET /.well-known/vdi-billing-revocation.json does: a fresh
    # install's first strict verification must not fail for want of a fetch.

    try:
        row = revocation_snapshot_latest() or revocation_snapshot_ensure()
    except SigningKeysUnconfigured as exc:
        meta["last_error"] = _error(exc)
        return None, meta
    meta["fetched_at"] = row.created_at.isoformat().replace("+00:00", "Z")
    try:
        return snapshot_open(row.document, keys), meta
    except RevocationError as exc:
        meta["last_error"] = _error(exc)
        return None, meta


def revocation_fetch_counts(*, url: str | None = None) -> dict[str, int]:
    """Return the poll metric: fetch counts by ``"<outcome>"`` and
    ``"<outcome>:<code>"`` (all URLs, or one)."""
    rows = RevocationFetch.objects.all()
    if url is not None:
        rows = rows.filter(url=url)
    counts: dict[str, int] = {}
    for outcome, code in rows.values_list("outcome", "code"):
        counts[outcome] = counts.get(outcome, 0) + 1
        if code:
            key = f"{outcome}:{code}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def revoked_key_list(*, in_force: bool | None = None) -> QuerySet[RevokedKey]:
    """Return key revocations, newest first; ``in_force`` filters on lifts."""
    rows = RevokedKey.objects.order_by("-revoked_at", "-id")
    if in_force is not None:
        rows = rows.filter(lifted_at__isnull=in_force)
    return rows
