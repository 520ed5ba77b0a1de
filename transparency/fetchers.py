"""The project's one HTTP(S) client, and the fetchers built on it.

:func:`http_request` is the only place that opens a URL: http or https only,
a timeout and a size cap on every answer. The witness and the monitor read
the log through a fetcher ``fetch(path) -> bytes``
(:data:`transparency.protocol.logapi.Fetcher`) and post through a poster
``post(path, json_body) -> bytes``; both raise
:class:`transparency.protocol.errors.FetchError` on a network error, a
non-2xx answer (the message carries the status and, for JSON error bodies,
the ``error.code``) or an answer over the cap
(:class:`~transparency.errors.FetchTooLargeError`). The revocation feed
poller fetches through :func:`http_request` too
(``revocation.services.fetch.http_fetch``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Container, Mapping
from typing import Any

from transparency.errors import FetchStatusError, FetchTooLargeError
from transparency.protocol.errors import FetchError
from transparency.protocol.logapi import Fetcher

Poster = Callable[[str, dict[str, Any]], bytes]
"""``post(path, body) -> bytes``: POST ``body`` as JSON to ``base_url + path``."""

USER_AGENT = "meterproof-tlog/1"

LOG_RESPONSE_MAX_BYTES = 256 * 1024 * 1024
"""Size cap of one log API answer, bytes (256 MiB): above the largest a log
can honestly send, an entries page of 1,000 entries of up to 65,535 bytes each,
at most doubled by JSON escaping (~131 MB)."""

ERROR_BODY_MAX_BYTES = 64 * 1024
"""Most bytes of an error answer's body read for its message (64 KiB)."""

_OK_2XX = range(200, 300)


def _describe(status: int, body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"HTTP {status} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body[:200]!r}"


def http_request(
    url: str,
    *,
    timeout_seconds: float,
    max_bytes: int,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    ok_statuses: Container[int] = _OK_2XX,
) -> bytes:
    """Return the body of ``method url`` (urllib), at most ``max_bytes`` long.

    The answer is refused as soon as its ``Content-Length`` exceeds the cap,
    and at most ``max_bytes + 1`` bytes are ever read, so a hostile server
    cannot exhaust memory.

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout_seconds: socket timeout of the connection and of each read,
            seconds.
        max_bytes: size cap of the body, bytes.
        method: the HTTP method.
        data: the request body (``POST``), or ``None``.
        headers: extra request headers; ``User-Agent`` defaults to
            :data:`USER_AGENT`.
        ok_statuses: the statuses accepted (default: any 2xx).

    Raises:
        FetchError: a scheme other than http/https, or a transport error
            (connection refused, DNS failure, timeout); the message is
            ``"<method> <url>: <reason>"``.
        FetchStatusError: a status not in ``ok_statuses`` (``status``, the
            first bytes of the body in ``body``).
        FetchTooLargeError: the body (or its ``Content-Length``) exceeds
            ``max_bytes``.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise FetchError(
            f"{method} {url}: unsupported URL scheme {scheme!r}, expected http or https"
        )
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout_seconds)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as exc:
        with exc:  # the error holds the open response; release the socket
            try:
                body = exc.read(ERROR_BODY_MAX_BYTES)
            except OSError:
                body = b""
        raise FetchStatusError(
            f"{method} {url}: {_describe(exc.code, body)}", status=exc.code, body=body
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{method} {url}: {exc}") from None
    with response:
        try:
            if response.status not in ok_statuses:
                body = response.read(ERROR_BODY_MAX_BYTES)
                raise FetchStatusError(
                    f"{method} {url}: {_describe(response.status, body)}",
                    status=response.status,
                    body=body,
                )
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchTooLargeError(
                    f"{method} {url}: Content-Length is {length} bytes, the limit "
                    f"is {max_bytes}",
                    max_bytes=max_bytes,
                    size_bytes=int(length),
                )
            body = response.read(max_bytes + 1)
        except OSError as exc:  # timeout or reset while reading
            raise FetchError(f"{method} {url}: {exc}") from None
    if len(body) > max_bytes:
        raise FetchTooLargeError(
            f"{method} {url}: the body is over {max_bytes} bytes, the limit",
            max_bytes=max_bytes,
        )
    return bytes(body)


def http_fetcher(
    base_url: str,
    *,
    timeout_seconds: float = 30.0,
    max_bytes: int = LOG_RESPONSE_MAX_BYTES,
) -> Fetcher:
    """Return a fetcher that GETs ``base_url + path`` with :func:`http_request`.

    Args:
        base_url: the log's base URL, e.g. ``https://log.example`` (a trailing
            slash is ignored).
        timeout_seconds: per-request timeout, seconds.
        max_bytes: size cap of one answer, bytes.

    The fetcher raises :class:`FetchError` (``FetchStatusError`` for a
    non-2xx answer, message ``"GET <path>: HTTP <status> ..."``) and
    :class:`~transparency.errors.FetchTooLargeError` over the cap.
    """
    base = base_url.rstrip("/")

    def fetch(path: str) -> bytes:
        try:
            return http_request(
                base + path,
                headers={"Accept": "*/*"},
                timeout_seconds=timeout_seconds,
                max_bytes=max_bytes,
            )
        except FetchStatusError as exc:
            raise FetchStatusError(
                f"GET {path}: {_describe(exc.status, exc.body)}",
                status=exc.status,
                body=exc.body,
            ) from None

    return fetch


def http_poster(
    base_url: str,
    *,
    timeout_seconds: float = 30.0,
    max_bytes: int = LOG_RESPONSE_MAX_BYTES,
) -> Poster:
    """Return a poster that POSTs JSON to ``base_url + path`` with
    :func:`http_request` (errors as :func:`http_fetcher`'s, ``POST``)."""
    base = base_url.rstrip("/")

    def post(path: str, body: dict[str, Any]) -> bytes:
        try:
            return http_request(
                base + path,
                method="POST",
                data=json.dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout_seconds=timeout_seconds,
                max_bytes=max_bytes,
            )
        except FetchStatusError as exc:
            raise FetchStatusError(
                f"POST {path}: {_describe(exc.status, exc.body)}",
                status=exc.status,
                body=exc.body,
            ) from None

    return post


def _local_client() -> Any:
    # Imported lazily: django.test pulls in test machinery a worker rarely needs.
    from django.conf import settings
    from django.test import Client

    hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in ("*", "")]
    host = next((h for h in hosts if "*" not in h), "localhost")
    return Client(SERVER_NAME=host, HTTP_HOST=host)


def local_fetcher() -> Fetcher:
    """Return a fetcher that serves ``path`` through this process's URLconf.

    Uses Django's test :class:`~django.test.Client` (full middleware and
    views, no socket), so the monitor checks exactly what the public API
    would answer. The Host header is the first concrete ``ALLOWED_HOSTS``
    entry.
    """
    client = _local_client()

    def fetch(path: str) -> bytes:
        response = client.get(path, secure=True)
        if not 200 <= response.status_code < 300:
            raise FetchError(
                f"GET {path}: {_describe(response.status_code, response.content)}"
            )
        return bytes(response.content)

    return fetch


def local_poster() -> Poster:
    """Return a poster through this process's URLconf (see :func:`local_fetcher`)."""
    client = _local_client()

    def post(path: str, body: dict[str, Any]) -> bytes:
        response = client.post(
            path, data=json.dumps(body), content_type="application/json", secure=True
        )
        if not 200 <= response.status_code < 300:
            raise FetchError(
                f"POST {path}: {_describe(response.status_code, response.content)}"
            )
        return bytes(response.content)

    return post
