"""The DRF ``EXCEPTION_HANDLER``: every API error becomes
``{"error": {"code", "message", "field"}}`` with a stable code.

One table maps error classes to HTTP status. Unknown exceptions are not
swallowed: DRF re-raises them, Django logs them and ``api_server_error``
answers a JSON 500 without a stack trace. A database outage
(``OperationalError``/``InterfaceError``) answers 503 ``database_unavailable``
with ``Retry-After``. Messages and fields that quote input are escaped and cut
(:func:`kernel.protocol.text.safe_text`) so that every body encodes.

``config.middleware.ApiErrorMiddleware`` applies the same body to every
other error answer under :data:`API_PREFIXES` (Django's own 404/405/500,
CSRF failures, DEBUG pages).
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from audittrail import errors as audit_errors
from billing import errors as billing_errors
from billing.protocol import errors as billing_protocol_errors
from circuits import errors as circuits_errors
from circuits.protocol import errors as circuits_protocol_errors
from kernel import errors as kernel_errors
from kernel.protocol import errors as kernel_protocol_errors
from kernel.protocol.errors import MeterproofError
from kernel.protocol.text import safe_text
from revocation import errors as revocation_errors
from revocation.protocol import errors as revocation_protocol_errors
from transparency import errors as transparency_errors
from transparency.protocol import errors as tlog_errors

logger = logging.getLogger("meterproof.api")

#: Path prefixes whose every answer is JSON (or a tile / checkpoint note).
API_PREFIXES = ("/api/", "/.well-known/", "/tlog/")
#: Seconds a client waits before retrying after a database outage (503).
DATABASE_RETRY_AFTER_SEC = 5
#: Exceptions that mean "the database is unreachable", not "the input is bad".
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)

#: Error class -> HTTP status. The most specific class listed wins (MRO order).
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    billing_errors.PayloadTooLarge: 413,
    # RFC 9110 §15.5.14: the content (the event) is larger than the server is
    # able to process: its signed form would not fit one log entry.
    billing_errors.AttestationTooLarge: 413,
    billing_errors.ReplayConflict: 409,
    billing_errors.AttestInProgress: 409,
    billing_errors.PeriodClosed: 409,
    billing_errors.EventTooOld: 422,
    billing_errors.EventInFuture: 422,
    billing_errors.NoTariffInForce: 422,
    billing_errors.SubscriptionOverlap: 409,
    billing_errors.SubscriptionInvalid: 400,
    billing_errors.TenantMismatch: 403,
    billing_errors.UnknownTenant: 404,
    billing_errors.BundleNotFound: 404,
    billing_errors.MeterKeyConflict: 409,
    billing_errors.MeterKeyInvalid: 400,
    billing_errors.MeterKeyNotFound: 404,
    billing_errors.MeterKeyRevoked: 403,
    billing_errors.UsageQueryInvalid: 400,
    billing_errors.UsageCurrencyMixed: 422,
    billing_errors.DisputeNotFound: 404,
    billing_errors.DisputeExists: 409,
    billing_errors.DisputeStateInvalid: 409,
    billing_errors.DisputeEvidenceLimit: 409,
    billing_errors.DisputeEvidenceInvalid: 400,
    billing_errors.DisputeDecisionInvalid: 400,
    billing_errors.CreditNoteReasonInvalid: 400,
    billing_errors.CreditNotePeriodClosed: 409,
    billing_errors.CreditNoteImmutable: 409,
    billing_errors.CreditNoteError: 422,
    billing_errors.CreditNoteNotFound: 404,
    billing_protocol_errors.CreditNoteFormatError: 400,
    kernel_errors.SigningKeysUnconfigured: 503,
    billing_errors.AttestDisabled: 503,
    billing_errors.TariffImmutable: 409,
    billing_errors.TariffStateError: 409,
    billing_errors.TariffVersionConflict: 409,
    billing_errors.TariffPublishConflict: 409,
    billing_errors.InvalidParameter: 400,
    billing_errors.StatementPeriodInvalid: 400,
    billing_errors.StatementPeriodOpen: 422,
    billing_errors.StatementPeriodClosed: 409,
    billing_errors.StatementCurrencyMixed: 422,
    billing_errors.StatementSequenceGap: 409,
    billing_errors.StatementNotFound: 404,
    billing_errors.StatementImmutable: 409,
    billing_errors.StatementTooLarge: 422,
    billing_protocol_errors.UnknownKeyError: 401,
    kernel_protocol_errors.SignatureError: 401,
    billing_protocol_errors.MeterEventError: 400,
    billing_protocol_errors.TariffError: 400,
    billing_protocol_errors.BundleFormatError: 400,
    kernel_protocol_errors.CanonicalizationError: 400,
    tlog_errors.MerkleError: 400,
    tlog_errors.EntryTooLargeError: 413,
    revocation_errors.AlreadyRevoked: 409,
    revocation_errors.AlreadyLifted: 409,
    revocation_errors.RevocationInputInvalid: 400,
    revocation_errors.RevocationFeedUnavailable: 503,
    revocation_protocol_errors.RevokedError: 422,
    revocation_protocol_errors.RevocationStaleError: 422,
    revocation_protocol_errors.RevocationFeedTooLargeError: 413,
    revocation_protocol_errors.RevocationError: 400,
    transparency_errors.InvalidParameter: 400,
    transparency_errors.TreeSizeOutOfRange: 400,
    transparency_errors.RangeTooLarge: 400,
    transparency_errors.CheckpointNotFound: 404,
    transparency_errors.LeafNotFound: 404,
    transparency_errors.TileNotFound: 404,
    transparency_errors.WitnessUnknownKey: 400,
    transparency_errors.CosignatureInvalid: 400,
    transparency_errors.CheckpointUnknown: 400,
    circuits_errors.ArtifactManifestMismatch: 503,
    circuits_errors.SnarkjsUnavailable: 503,
    # The Groth16 prover (circuits.prover) failing is the server's problem.
    circuits_protocol_errors.ProverUnavailableError: 503,
    circuits_protocol_errors.ZkeyMismatchError: 503,
    circuits_protocol_errors.ProverSelfCheckError: 503,
    circuits_protocol_errors.Groth16BackendError: 503,
    circuits_protocol_errors.ProverInputError: 500,
    audit_errors.AuditAppendOnly: 409,
    # Audit input comes from our own staff actions, never from a request.
    audit_errors.AuditInputInvalid: 500,
    MeterproofError: 400,
}

#: DRF's own exceptions, renamed to our stable codes.
DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_json",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.NotFound: "not_found",
    drf.Throttled: "rate_limited",
}


def _status_for(exc: MeterproofError) -> int:
    for klass in type(exc).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 400


def _first_validation_error(detail: Any, path: str = "") -> tuple[str | None, str, str]:
    """Return (field, code, message) of the first error in DRF's full details."""
    if isinstance(detail, dict) and "code" in detail and "message" in detail:
        return (path or None, str(detail["code"]), str(detail["message"]))
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = (
                key if key == "non_field_errors" else (f"{path}.{key}" if path else key)
            )
            return _first_validation_error(
                value, "" if key == "non_field_errors" else sub
            )
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], path)
    return (path or None, "invalid", "invalid input")


def is_api_path(path_info: str) -> bool:
    """Return whether ``path_info`` (without the script prefix) is under one of
    :data:`API_PREFIXES`."""
    return path_info.startswith(API_PREFIXES)


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    """Return ``{"error": {"code", "message", "field"}}``; ``message`` and
    ``field`` are escaped and cut so that they always encode as UTF-8."""
    return {
        "error": {
            "code": code,
            "message": safe_text(str(message), 2000),
            "field": None if field is None else safe_text(str(field)),
        }
    }


def error_response(
    code: str,
    message: str,
    field: str | None,
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return a DRF response with the standard error body."""
    response = Response(error_body(code, message, field), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def json_error_response(
    code: str,
    message: str,
    field: str | None,
    status: int,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """Return a plain Django ``JsonResponse`` with the standard error body
    (for answers made outside DRF: handlers and middleware)."""
    response = JsonResponse(error_body(code, message, field), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def code_for_status(status: int) -> str:
    """Return the error code of an HTTP ``status`` that no view named:
    ``not_found``, ``method_not_allowed``, ``internal_error``...; other statuses
    give their reason phrase in snake_case (``request_timeout``)."""
    known = {
        400: "bad_request",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        411: "length_required",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
        500: "internal_error",
        503: "service_unavailable",
    }
    if status in known:
        return known[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "http_error"
    return "_".join(phrase.lower().replace("-", " ").split())


def database_unavailable_response(exc: BaseException) -> JsonResponse:
    """Return the 503 ``database_unavailable`` answer (``Retry-After``:
    :data:`DATABASE_RETRY_AFTER_SEC` seconds) and log ``exc``."""
    logger.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
    return json_error_response(
        "database_unavailable",
        "the database is unavailable; retry later",
        None,
        503,
        {"Retry-After": str(DATABASE_RETRY_AFTER_SEC)},
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Convert ``exc`` into the standard JSON error response, or return ``None``
    (unknown exception: DRF re-raises it and it is logged as a 500)."""
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        logger.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
        return error_response(
            "database_unavailable",
            "the database is unavailable; retry later",
            None,
            503,
            {"Retry-After": str(DATABASE_RETRY_AFTER_SEC)},
        )
    if isinstance(exc, MeterproofError):
        return error_response(exc.code, exc.message, exc.field, _status_for(exc))
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            "payload_too_large", "request body exceeds the size limit", None, 413
        )
    if isinstance(exc, Http404):
        return error_response("not_found", "not found", None, 404)
    if isinstance(exc, PermissionDenied):
        return error_response(
            "permission_denied", str(exc) or "permission denied", None, 403
        )
    if isinstance(exc, DjangoValidationError):
        field = None
        if hasattr(exc, "error_dict"):
            field = next(iter(exc.error_dict), None)
        return error_response(
            getattr(exc, "code", None) or "invalid", "; ".join(exc.messages), field, 400
        )
    if isinstance(exc, drf.ValidationError):
        field, code, message = _first_validation_error(exc.get_full_details())
        return error_response(code, message, field, 400)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        code = (
            exc.get_codes() if isinstance(exc.get_codes(), str) else "not_authenticated"
        )
        return error_response(
            str(code),
            str(exc.detail),
            None,
            401,
            {"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, drf.APIException):
        code = DRF_CODES.get(type(exc))
        if code is None:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else exc.default_code
        headers = {}
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        return error_response(
            str(code), str(exc.detail), None, exc.status_code, headers
        )
    return None


def api_not_found(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """``handler404``: JSON for API paths, Django's page elsewhere."""
    if is_api_path(request.path_info):
        return json_error_response(
            "not_found", f"no route {request.path_info}", None, 404
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def api_server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: for API paths a JSON 500 without internals (the error is
    logged), or 503 ``database_unavailable`` if the database is down; Django's
    page elsewhere."""
    if is_api_path(request.path_info):
        current = sys.exception()
        if isinstance(current, DATABASE_OUTAGE_ERRORS):
            return database_unavailable_response(current)
        return json_error_response("internal_error", "internal server error", None, 500)
    from django.views.defaults import server_error

    return server_error(request)


def api_bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """``handler400``: JSON for API paths (e.g. a body over the size limit)."""
    if isinstance(exception, RequestDataTooBig):
        code, status, message = (
            "payload_too_large",
            413,
            "request body exceeds the size limit",
        )
    else:
        code, status, message = "bad_request", 400, "bad request"
    if is_api_path(request.path_info):
        return json_error_response(code, message, None, status)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())
