"""The DRF ``EXCEPTION_HANDLER``: every API error becomes
``{"error": {"code", "message", "field"}}`` with a stable code.

One table maps error classes to HTTP status. Unknown exceptions are not
swallowed: DRF re-raises them, Django logs them and ``api_server_error``
answers a JSON 500 without a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from billing import errors as billing_errors
from billing.protocol import errors as billing_protocol_errors
from circuits import errors as circuits_errors
from circuits.protocol import errors as circuits_protocol_errors
from revocation import errors as revocation_errors
from revocation.protocol import errors as revocation_protocol_errors
from transparency import errors as transparency_errors
from transparency.protocol import errors as tlog_errors
from transparency.protocol.errors import ProtocolError

logger = logging.getLogger("meterproof.api")

#: Error class -> HTTP status. The most specific class listed wins (MRO order).
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    billing_errors.PayloadTooLarge: 413,
    # RFC 9110 §15.5.14: the content (the event) is larger than the server is
    # able to process: its signed form would not fit one log entry.
    billing_errors.AttestationTooLarge: 413,
    billing_errors.ReplayConflict: 409,
    billing_errors.AttestInProgress: 409,
    billing_errors.EventTooOld: 422,
    billing_errors.EventInFuture: 422,
    billing_errors.NoTariffInForce: 422,
    billing_errors.TenantMismatch: 403,
    billing_errors.UnknownTenant: 404,
    billing_errors.BundleNotFound: 404,
    billing_errors.MeterKeyConflict: 409,
    billing_errors.MeterKeyInvalid: 400,
    billing_errors.MeterKeyNotFound: 404,
    billing_errors.MeterKeyRevoked: 403,
    billing_errors.SigningKeysUnconfigured: 503,
    billing_errors.AttestDisabled: 503,
    billing_errors.TariffImmutable: 409,
    billing_errors.TariffStateError: 409,
    billing_protocol_errors.UnknownKeyError: 401,
    billing_protocol_errors.SignatureError: 401,
    billing_protocol_errors.MeterEventError: 400,
    billing_protocol_errors.TariffError: 400,
    billing_protocol_errors.BundleFormatError: 400,
    billing_protocol_errors.CanonicalizationError: 400,
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
    ProtocolError: 400,
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


def _status_for(exc: ProtocolError) -> int:
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


def error_response(
    code: str,
    message: str,
    field: str | None,
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return a DRF response with the standard error body."""
    response = Response(
        {"error": {"code": code, "message": message, "field": field}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Convert ``exc`` into the standard JSON error response, or return ``None``
    (unknown exception: DRF re-raises it and it is logged as a 500)."""
    if isinstance(exc, ProtocolError):
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
) -> JsonResponse:
    """``handler404``: JSON for API paths, Django's page elsewhere."""
    if request.path.startswith(("/api/", "/.well-known/", "/tlog/")):
        return JsonResponse(
            {
                "error": {
                    "code": "not_found",
                    "message": f"no route {request.path}",
                    "field": None,
                }
            },
            status=404,
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def api_server_error(request: HttpRequest) -> JsonResponse:
    """``handler500``: a JSON 500 without internals (the error is logged)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "internal_error",
                    "message": "internal server error",
                    "field": None,
                }
            },
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)  # type: ignore[return-value]


def api_bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    """``handler400``: JSON for API paths (e.g. a body over the size limit)."""
    if isinstance(exception, RequestDataTooBig):
        code, status, message = (
            "payload_too_large",
            413,
            "request body exceeds the size limit",
        )
    else:
        code, status, message = "bad_request", 400, "bad request"
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": code, "message": message, "field": None}}, status=status
        )
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())  # type: ignore[return-value]
