"""``ApiErrorMiddleware``: every answer under ``/api/``, ``/.well-known/`` and
``/tlog/`` is JSON (or a tile / checkpoint note), errors included.

DRF views already answer errors through ``config.exception_handler``; this
middleware covers what happens outside them: Django's 404 and 500 pages (also
the DEBUG ones), CSRF failures, errors of other middleware, database outages
in non-DRF views, and request bodies sent without ``Content-Length``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.exception_handler import (
    DATABASE_OUTAGE_ERRORS,
    code_for_status,
    database_unavailable_response,
    is_api_path,
    json_error_response,
)

#: Headers of a replaced error answer that still apply to the JSON one.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiErrorMiddleware:
    """Make every error answer under the API prefixes a JSON error body.

    * A request with a ``Transfer-Encoding`` header (a chunked body) answers
      411 ``length_required``: Django reads a body only up to
      ``Content-Length``, so a chunked body would be read as empty.
    * A view raising ``OperationalError``/``InterfaceError`` answers 503
      ``database_unavailable`` with ``Retry-After``.
    * An error answer (status >= 400) that is not ``application/json`` is
      replaced by ``{"error": {"code", "message", "field"}}`` with the same
      status; the code comes from :func:`code_for_status`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request``; see the class docstring."""
        if not is_api_path(request.path_info):
            return self.get_response(request)
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return json_error_response(
                "length_required",
                "send the request body with a Content-Length header; "
                "Transfer-Encoding (chunked) bodies are not accepted",
                None,
                411,
            )
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith(
            "application/json"
        ):
            replaced = json_error_response(
                code_for_status(response.status_code),
                response.reason_phrase or "error",
                None,
                response.status_code,
            )
            for name in _KEPT_HEADERS:
                if name in response:
                    replaced[name] = response[name]
            return replaced
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """Answer 503 ``database_unavailable`` for a database outage in an API
        view; leave every other exception to Django (logged, then a 500)."""
        if is_api_path(request.path_info) and isinstance(
            exception, DATABASE_OUTAGE_ERRORS
        ):
            return database_unavailable_response(exception)
        return None
