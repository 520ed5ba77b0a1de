"""Fetchers for the witness and the monitor: HTTP(S) and in-process.

A fetcher is ``fetch(path) -> bytes`` (:data:`transparency.protocol.logapi.
Fetcher`); a poster is ``post(path, json_body) -> bytes``. Both raise
:class:`transparency.protocol.errors.FetchError` on a network error or a
non-2xx answer (the message carries the status and, for JSON error bodies,
the ``error.code``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from transparency.protocol.errors import FetchError
from transparency.protocol.logapi import Fetcher

Poster = Callable[[str, dict[str, Any]], bytes]
"""``post(path, body) -> bytes``: POST ``body`` as JSON to ``base_url + path``."""

USER_AGENT = "meterproof-tlog/1"


def _describe(status: int, body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"HTTP {status} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body[:200]!r}"


def http_fetcher(base_url: str, *, timeout_seconds: float = 30.0) -> Fetcher:
    """Return a fetcher that GETs ``base_url + path`` with ``urllib``.

    Args:
        base_url: the log's base URL, e.g. ``https://log.example`` (a trailing
            slash is ignored).
        timeout_seconds: per-request timeout.
    """
    base = base_url.rstrip("/")

    def fetch(path: str) -> bytes:
        request = urllib.request.Request(
            base + path, headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            raise FetchError(f"GET {path}: {_describe(exc.code, exc.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"GET {base + path}: {exc}") from None

    return fetch


def http_poster(base_url: str, *, timeout_seconds: float = 30.0) -> Poster:
    """Return a poster that POSTs JSON to ``base_url + path`` with ``urllib``."""
    base = base_url.rstrip("/")

    def post(path: str, body: dict[str, Any]) -> bytes:
        request = urllib.request.Request(
            base + path,
            data=json.dumps(body).encode("utf-8"),
            method="POST",
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            raise FetchError(
                f"POST {path}: {_describe(exc.code, exc.read())}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"POST {base + path}: {exc}") from None

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
