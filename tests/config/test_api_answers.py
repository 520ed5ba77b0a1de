"""Every answer under /api/, /.well-known/ and /tlog/ is JSON, errors included
(audit items 15-17): Django's 404/500 pages, DEBUG pages, database outages and
chunked request bodies."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from billing.models import Bundle
from tests.billing.support import TenantSetup, make_event
from transparency.models import LogEntry

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, not bad input")


def _plain_db_view(request: HttpRequest) -> HttpResponse:
    """A non-DRF view that reads the database."""
    return HttpResponse(str(LogEntry.objects.count()), content_type="text/plain")


# This module is also the URLconf of the tests below that need views which
# fail in ways no real view fails on purpose.
urlpatterns = [
    path("api/test/boom", _boom),
    path("tlog/test/boom", _boom),
    path(".well-known/test/boom", _boom),
    path("api/test/plain-db", _plain_db_view),
    path("", include("config.urls")),
]
handler404 = "config.exception_handler.api_not_found"
handler500 = "config.exception_handler.api_server_error"


def assert_json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """``response`` is ``status`` with the standard JSON error body ``code``."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response[
        "Content-Type"
    ]
    body = json.loads(response.content.decode("utf-8"))
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def quiet_client() -> Client:
    """A client that receives the 500 answer instead of the raised exception."""
    return Client(raise_request_exception=False)


# --- item 15 ------------------------------------------------------------------

PREFIXED_MISSES = [
    "/api/nope",
    "/api/vdi/billing/nope/deeper",
    "/.well-known/nope.json",
    "/tlog/nope",
]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", PREFIXED_MISSES)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_paths_answer_json_404(
    settings: Any, quiet_client: Client, url: str, debug: bool, method: str
) -> None:
    """An unknown path under the API prefixes is a JSON 404 ``not_found``,
    with DEBUG on or off."""
    settings.DEBUG = debug
    assert_json_error(getattr(quiet_client, method)(url), 404, "not_found")


def test_other_paths_keep_html_404(quiet_client: Client) -> None:
    """Outside the API prefixes Django's HTML 404 page stays."""
    response = quiet_client.get("/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, url",
    [
        ("put", "/tlog/checkpoint"),
        ("delete", "/.well-known/vdi-billing-trust.json"),
        ("get", "/api/vdi/billing/verify"),
    ],
)
def test_wrong_method_is_json_405(quiet_client: Client, method: str, url: str) -> None:
    """A wrong method is a JSON 405 ``method_not_allowed`` with ``Allow``."""
    response = getattr(quiet_client, method)(url)
    assert_json_error(response, 405, "method_not_allowed")
    assert response["Allow"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "url", ["/api/test/boom", "/tlog/test/boom", "/.well-known/test/boom"]
)
def test_unhandled_exception_is_json_500(
    settings: Any, quiet_client: Client, url: str, debug: bool
) -> None:
    """A bug under the API prefixes answers a JSON 500 ``internal_error``
    without a stack trace, with DEBUG on or off."""
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = debug
    error = assert_json_error(quiet_client.get(url), 500, "internal_error")
    assert "RuntimeError" not in error["message"]


# --- item 16 ------------------------------------------------------------------


@contextmanager
def database_down() -> Iterator[None]:
    """Make every query fail as the driver does when the server is gone: the
    driver's own ``OperationalError``, converted by Django's error wrapper."""

    def refuse(*args: Any) -> Any:
        with connection.wrap_database_errors:
            raise connection.Database.OperationalError(
                "connection refused (server closed the connection unexpectedly)"
            )

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.parametrize(
    "url",
    [
        "/api/vdi/billing/transparency/head",
        "/tlog/checkpoint",
        "/.well-known/vdi-billing-revocation.json",
        "/api/vdi/billing/bundles/rcpt_0123",
    ],
)
def test_database_outage_is_503_with_retry_after(
    tenant_setup: TenantSetup, url: str
) -> None:
    """A database outage answers 503 ``database_unavailable`` with
    ``Retry-After``, not a 500."""
    client = tenant_setup.client
    client.raise_request_exception = False
    with database_down():
        response = client.get(url)
    assert_json_error(response, 503, "database_unavailable")
    assert int(response["Retry-After"]) > 0


def test_database_outage_during_attest_is_503(tenant_setup: TenantSetup) -> None:
    """An attest during an outage is a 503 ``database_unavailable``; once the
    database is back the same event attests."""
    client = tenant_setup.client
    client.raise_request_exception = False
    event = make_event()
    with database_down():
        response = client.post("/api/vdi/billing/attest", event, format="json")
    assert_json_error(response, 503, "database_unavailable")
    assert Bundle.objects.count() == 0
    again = client.post("/api/vdi/billing/attest", event, format="json")
    assert again.status_code == 201, again.content


def test_database_outage_in_plain_django_view_is_503(
    settings: Any, quiet_client: Client
) -> None:
    """A non-DRF view under /api/ answers 503 ``database_unavailable`` too."""
    settings.ROOT_URLCONF = __name__
    with database_down():
        response = quiet_client.get("/api/test/plain-db")
    assert_json_error(response, 503, "database_unavailable")
    assert response["Retry-After"]


# --- item 17 ------------------------------------------------------------------


def _send_chunked(base_url: str, url: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """POST ``chunks`` with ``Transfer-Encoding: chunked`` (no Content-Length)
    to a real HTTP server; return (status, body)."""
    parts = urlsplit(base_url)
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = (
        f"POST {url} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head + body)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read()


@pytest.mark.parametrize("url", ["/api/vdi/billing/verify", "/api/vdi/billing/attest"])
def test_chunked_body_is_refused_with_411(live_server: Any, url: str) -> None:
    """A chunked request body (no Content-Length) through a real WSGI server
    answers 411 ``length_required`` instead of being read as empty."""
    status, body = _send_chunked(live_server.url, url, [b'{"bundle":', b" {}}"])
    assert status == 411, body
    error = json.loads(body)["error"]
    assert error["code"] == "length_required" and error["field"] is None
