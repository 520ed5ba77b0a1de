"""The feed poller against a REAL local HTTP server (http.server on
127.0.0.1, port 0, in a thread): accept, refuse bad feeds with a log line and
a metric row, keep the last good snapshot when the server dies, until it goes
stale and strict freshness fails closed."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from revocation.models import RevocationFetch
from revocation.protocol.errors import RevocationStaleError
from revocation.protocol.snapshot import snapshot_check_fresh, snapshot_sign
from revocation.selectors import (
    revocation_fetch_counts,
    revocation_snapshot_for_verification,
)
from revocation.services.fetch import backoff_delay, http_fetch, revocation_feed_poll
from tests.revocation.support import NOW

pytestmark = pytest.mark.django_db

T = int(NOW.timestamp())
KID = "r" * 43


class FeedState:
    """What the test server answers: a status and a body."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"{}"
        self.requests = 0


def _handler(state: FeedState) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            state.requests += 1
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def feed() -> Iterator[tuple[FeedState, http.server.ThreadingHTTPServer, str]]:
    """A live HTTP server on 127.0.0.1 (ephemeral port) serving FeedState."""
    state = FeedState()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/vdi-billing-revocation.json"
    try:
        yield state, server, url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def doc(signing_keys: Any, sequence: int, time: int, kids: list[str]) -> bytes:
    """A feed body signed by the server's issuer key."""
    import json

    return json.dumps(
        snapshot_sign(
            revoked_kids=kids,
            revoked_attestations=[],
            snapshot_time=time,
            sequence=sequence,
            signing_key=signing_keys.issuer.signing_key,
        )
    ).encode()


def test_backoff_is_exponential_with_full_jitter() -> None:
    """delay(n) = rng() * min(30, 2**(n-1)): 1, 2, 4 ... capped at 30 s."""
    assert [backoff_delay(n, lambda: 1.0) for n in (1, 2, 3, 6, 9)] == [
        1.0,
        2.0,
        4.0,
        30.0,
        30.0,
    ]
    assert backoff_delay(3, lambda: 0.25) == 1.0
    assert backoff_delay(3, lambda: 0.0) == 0.0


def test_poll_lifecycle_with_a_real_server(
    signing_keys: Any, settings: Any, feed: Any, caplog: Any
) -> None:
    """accept -> unchanged -> accept newer -> refuse rollback/malformed/
    unsigned/oversized/5xx -> server killed -> last good stays until stale."""
    state, server, url = feed
    settings.VDI_BILLING_REVOCATION_URL = url
    settings.VDI_BILLING_REVOCATION_CACHE_SEC = 60
    settings.VDI_BILLING_REVOCATION_MAX_AGE_SEC = 3600
    sleeps: list[float] = []

    def poll(at: int, **kw: Any) -> RevocationFetch | None:
        return revocation_feed_poll(
            fetch=http_fetch,
            now=NOW + timedelta(seconds=at),
            sleep=sleeps.append,
            rng=lambda: 0.5,
            **kw,
        )

    # 1. first good snapshot
    state.body = doc(signing_keys, 1, T, [KID])
    row = poll(0)
    assert row is not None and row.outcome == "accepted" and row.sequence == 1
    snap, meta = revocation_snapshot_for_verification()
    assert snap is not None and snap.sequence == 1 and snap.is_kid_revoked(KID)
    assert meta["source"] == "url" and meta["url"] == url
    assert meta["last_error"] is None and meta["fetched_at"].endswith("Z")

    # 2. within the cache window the poll is skipped (no request)
    before = state.requests
    assert poll(30) is None and state.requests == before
    # 3. same snapshot again -> unchanged; then a newer one -> accepted
    assert poll(61).outcome == "unchanged"  # type: ignore[union-attr]
    state.body = doc(signing_keys, 2, T + 100, [])
    assert poll(200).outcome == "accepted"  # type: ignore[union-attr]

    # 4. bad feeds are refused with a log line and a metric row
    bad = {
        "revocation_rollback": doc(signing_keys, 1, T + 300, [KID]),
        "revocation_feed_malformed": b"<html>oops</html>",
        "revocation_signature_invalid": b'{"revokedAttestations": [], '
        b'"revokedKids": [], "snapshotTime": 1, "sequence": 9}',
        "revocation_feed_too_large": b" " * (1024 * 1024 + 1),
    }
    caplog.set_level(logging.WARNING, logger="meterproof.revocation")
    for code, body in bad.items():
        state.body = body
        row = poll(300, force=True)
        assert row is not None
        assert (row.outcome, row.code) == ("refused", code)
        assert f"[{code}]" in caplog.text and "last good snapshot stays" in caplog.text
        snap, meta = revocation_snapshot_for_verification()
        assert snap is not None and snap.sequence == 2  # last good in force
        assert meta["last_error"]["code"] == code

    # 5. HTTP 503: retried with backoff (3 sleeps for 4 attempts), unreachable
    state.status, state.body = 503, b"down"
    sleeps.clear()
    requests = state.requests
    row = poll(400, force=True)
    assert row is not None and (row.outcome, row.attempts) == ("unreachable", 4)
    assert state.requests - requests == 4
    assert sleeps == [0.5, 1.0, 2.0]

    # 6. kill the server mid-run: connection refused, last good stays
    server.shutdown()
    server.server_close()
    sleeps.clear()
    row = poll(500, force=True)
    assert row is not None and row.outcome == "unreachable"
    assert row.code == "revocation_feed_unreachable" and len(sleeps) == 3
    snap, meta = revocation_snapshot_for_verification()
    assert snap is not None and snap.sequence == 2
    assert meta["last_error"]["code"] == "revocation_feed_unreachable"
    # fresh while young, then stale: strict freshness fails closed
    snapshot_check_fresh(snap, now=T + 100 + 3600, max_age_seconds=3600)
    with pytest.raises(RevocationStaleError) as info:
        snapshot_check_fresh(snap, now=T + 100 + 3601, max_age_seconds=3600)
    assert info.value.age_seconds == 3601

    # the metric: counts by outcome and outcome:code
    counts = revocation_fetch_counts(url=url)
    assert counts["accepted"] == 2 and counts["unchanged"] == 1
    assert counts["refused"] == 4 and counts["unreachable"] == 2
    assert counts["refused:revocation_rollback"] == 1
    assert counts["unreachable:revocation_feed_unreachable"] == 2


def test_first_poll_refused_leaves_no_snapshot(
    signing_keys: Any, settings: Any, feed: Any
) -> None:
    """With no good snapshot ever, verification gets None (fail closed)."""
    state, _server, url = feed
    settings.VDI_BILLING_REVOCATION_URL = url
    state.body = b"[]"
    row = revocation_feed_poll(now=NOW, sleep=lambda s: None)
    assert row is not None and row.code == "revocation_feed_malformed"
    snap, meta = revocation_snapshot_for_verification()
    assert snap is None and meta["last_error"]["code"] == "revocation_feed_malformed"


def test_unknown_issuer_is_refused(settings: Any, signing_keys: Any, feed: Any) -> None:
    """A feed signed by a key outside the trust anchors is refused."""
    from kernel.protocol.ed25519 import KeyPair

    state, _server, url = feed
    settings.VDI_BILLING_REVOCATION_URL = url

    class Other:
        issuer = KeyPair.generate()

    state.body = doc(Other, 0, T, [])
    row = revocation_feed_poll(now=NOW, sleep=lambda s: None)
    assert row is not None and row.code == "revocation_unknown_issuer"


def test_poll_is_a_noop_without_url(settings: Any, signing_keys: Any) -> None:
    """No VDI_BILLING_REVOCATION_URL: nothing fetched, nothing recorded."""
    settings.VDI_BILLING_REVOCATION_URL = ""
    assert revocation_feed_poll() is None
    assert not RevocationFetch.objects.exists()


def test_poll_task_runs_the_service(
    settings: Any, signing_keys: Any, feed: Any
) -> None:
    """The Celery task polls the configured URL and returns the outcome."""
    from revocation.tasks import revocation_feed_poll_task

    state, _server, url = feed
    settings.VDI_BILLING_REVOCATION_URL = url
    state.body = doc(signing_keys, 0, T, [])
    assert revocation_feed_poll_task() == "accepted"
    assert revocation_feed_poll_task() == "skipped"  # cached
