"""The one HTTP client (transparency.fetchers.http_request) and the log
fetchers built on it, against a REAL local HTTP server (127.0.0.1, port 0):
size cap with and without Content-Length, status errors, bad schemes; the
revocation feed fetcher keeps its codes on top of it."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from revocation.errors import RevocationFeedUnavailable
from revocation.protocol.errors import RevocationFeedTooLargeError
from revocation.services.fetch import http_fetch
from transparency.errors import FetchStatusError, FetchTooLargeError
from transparency.fetchers import http_fetcher, http_poster, http_request
from transparency.protocol.errors import FetchError


@dataclass
class Answer:
    """What the test server answers, and what it was sent."""

    status: int = 200
    body: bytes = b"{}"
    content_length: bool = True
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def _handler(answer: Answer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length) if length else b""
            answer.requests.append((self.command, self.path, sent))
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            if answer.content_length:
                self.send_header("Content-Length", str(len(answer.body)))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = _answer  # noqa: N815 (http.server API)
        do_POST = _answer  # noqa: N815 (http.server API)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[Answer, str]]:
    """A live HTTP server on 127.0.0.1 (ephemeral port); yields its base URL."""
    answer = Answer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield answer, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_fetcher_returns_the_body(server: tuple[Answer, str]) -> None:
    """GET base_url + path returns the body bytes."""
    answer, base = server
    answer.body = b'{"tree_size": 3}'
    assert http_fetcher(base + "/")("/api/head") == b'{"tree_size": 3}'
    assert answer.requests == [("GET", "/api/head", b"")]


@pytest.mark.parametrize("content_length", [True, False])
def test_fetcher_refuses_an_answer_over_the_cap(
    server: tuple[Answer, str], content_length: bool
) -> None:
    """An answer over max_bytes is refused with fetch_too_large, whether the
    server declares its length or streams it."""
    answer, base = server
    answer.body, answer.content_length = b"x" * 101, content_length
    with pytest.raises(FetchTooLargeError) as info:
        http_fetcher(base, max_bytes=100)("/big")
    assert info.value.code == "fetch_too_large"
    assert isinstance(info.value, FetchError)
    assert info.value.size_bytes == (101 if content_length else None)
    answer.body = b"x" * 100
    assert http_fetcher(base, max_bytes=100)("/big") == b"x" * 100


def test_fetcher_reports_status_and_json_error_code(
    server: tuple[Answer, str],
) -> None:
    """A non-2xx answer is a FetchError naming the path, the status and the
    JSON error code."""
    answer, base = server
    answer.status = 404
    answer.body = json.dumps(
        {"error": {"code": "leaf_not_found", "message": "no leaf 9"}}
    ).encode()
    with pytest.raises(FetchStatusError) as info:
        http_fetcher(base)("/api/entries/9")
    assert info.value.code == "fetch_failed" and info.value.status == 404
    assert (
        info.value.message == "GET /api/entries/9: HTTP 404 leaf_not_found: no leaf 9"
    )


def test_poster_sends_json_and_is_capped(server: tuple[Answer, str]) -> None:
    """POST sends the JSON body; its answer has the same cap."""
    answer, base = server
    answer.body = b"ok"
    assert http_poster(base)("/add", {"a": 1}) == b"ok"
    assert answer.requests[-1] == ("POST", "/add", b'{"a": 1}')
    with pytest.raises(FetchTooLargeError):
        http_poster(base, max_bytes=1)("/add", {"a": 1})


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.example/a", "x"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    """Other schemes are refused before any I/O."""
    with pytest.raises(FetchError) as info:
        http_request(url, timeout_seconds=1, max_bytes=10)
    assert "unsupported URL scheme" in info.value.message


def test_unreachable_server_is_a_fetch_error() -> None:
    """A refused connection is a FetchError (code fetch_failed)."""
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    httpd.server_close()
    with pytest.raises(FetchError) as info:
        http_fetcher(f"http://127.0.0.1:{port}", timeout_seconds=2)("/x")
    assert info.value.code == "fetch_failed"


@pytest.mark.parametrize("content_length", [True, False])
def test_revocation_fetch_keeps_its_codes(
    server: tuple[Answer, str], content_length: bool
) -> None:
    """The revocation feed fetcher uses the same client and keeps its codes:
    revocation_feed_too_large over the cap, revocation_feed_unreachable for
    a status other than 200, a bad scheme or a dead server."""
    answer, base = server
    answer.body, answer.content_length = b"y" * 11, content_length
    with pytest.raises(RevocationFeedTooLargeError) as too_large:
        http_fetch(base + "/feed", timeout=5, max_bytes=10)
    assert too_large.value.code == "revocation_feed_too_large"
    answer.body = b"y" * 10
    assert http_fetch(base + "/feed", timeout=5, max_bytes=10) == b"y" * 10
    for status in (204, 503):
        answer.status = status
        with pytest.raises(RevocationFeedUnavailable) as unavailable:
            http_fetch(base + "/feed", timeout=5, max_bytes=10)
        assert unavailable.value.code == "revocation_feed_unreachable"
        assert unavailable.value.message == f"HTTP {status} from {base}/feed"
    with pytest.raises(RevocationFeedUnavailable):
        http_fetch("file:///etc/passwd", timeout=5, max_bytes=10)
