"""Polling ``VDI_BILLING_REVOCATION_URL``: the revocation feed of another issuer.

The feed poller (:func:`revocation_feed_poll`) fetches
``VDI_BILLING_REVOCATION_URL`` through an injected fetcher, retries transport
errors with exponential backoff and full jitter, verifies the snapshot against
the issuer keys and the last accepted one (rollback refused) and records every
poll as a :class:`RevocationFetch` row (the metric). A bad feed is logged on
``meterproof.revocation`` and leaves the last good snapshot in force.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from django.utils import timezone

from revocation.errors import RevocationFeedUnavailable
from revocation.models import RevocationFetch
from revocation.protocol.errors import RevocationError, RevocationFeedTooLargeError
from revocation.protocol.snapshot import (
    DEFAULT_MAX_BYTES,
    VerifiedRevocationSnapshot,
    snapshot_open,
)
from revocation.services.snapshots import issuer_keys
from revocation.settings import revocation_settings
from transparency.errors import FetchStatusError, FetchTooLargeError
from transparency.fetchers import http_request
from transparency.protocol.errors import FetchError

logger = logging.getLogger("meterproof.revocation")

#: Retry policy of the feed poller: attempts, first backoff and cap (seconds).
FETCH_ATTEMPTS = 4
FETCH_BACKOFF_BASE_SEC = 1.0
FETCH_BACKOFF_CAP_SEC = 30.0
#: Socket timeout of one fetch, seconds.
FETCH_TIMEOUT_SEC = 10.0


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
    snapshot: VerifiedRevocationSnapshot | None = None,
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
    url = url if url is not None else revocation_settings.revocation_url
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
        cache = revocation_settings.revocation_cache_seconds
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
    previous: VerifiedRevocationSnapshot | None = None
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
