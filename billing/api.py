"""The billing REST API: one view per operation (CONVENTIONS.md §1).

* ``POST /api/vdi/billing/attest`` (tenant API key): meter envelope or bare meter
  event in, ``vdi-billing/2`` bundle out (201; 200 with
  ``Idempotent-Replayed: true`` for a retry of the same body).
* ``POST /api/vdi/billing/attest/batch`` (tenant API key): ``{"events": [...]}``,
  1-100 envelopes or events (Stripe's meter-event stream limit), one outcome per
  event, one log append and checkpoint for the whole batch.
* ``POST /api/vdi/billing/verify`` (no auth): bundle in, verification report out.
* ``GET /api/vdi/billing/bundles/<receipt_id>`` (tenant API key): a stored bundle.
* ``GET /.well-known/vdi-billing-trust.json``: the trust anchors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication, check_attest_secret
from billing.errors import PayloadTooLarge
from billing.protocol.errors import BundleFormatError
from billing.protocol.verify import PROFILES, BundleVerifier
from billing.selectors import bundle_get, trust_anchors_get
from billing.services.attest import meter_event_attest, meter_events_attest
from transparency.protocol.errors import ProtocolError


class ProfileUnsupported(ProtocolError):
    """The requested verification profile is not implemented here."""

    code = "profile_unsupported"


def _json_object(request: Request, name: str) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise BundleFormatError(
            f"request body must be a JSON object ({name})", field=None
        )
    return data


def _check_body_size(request: Request, limit: int) -> None:
    length = request.META.get("CONTENT_LENGTH") or "0"
    size = int(length) if length.isdigit() else 0
    if size > limit:
        raise PayloadTooLarge(f"request body is {size} bytes, the limit is {limit}")


class MeterEventAttestApi(APIView):
    """Attest one meter event for the authenticated tenant."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request) -> Response:
        """Return the bundle (201 new, 200 replayed)."""
        check_attest_secret(request)
        _check_body_size(request, settings.MP_MAX_BODY_BYTES)
        payload = _json_object(request, "a meter envelope or meter event")
        outcome = meter_event_attest(payload=payload, tenant=request.user)
        replayed = outcome.status == "replayed"
        response = Response(outcome.bundle, status=200 if replayed else 201)
        response["Idempotent-Replayed"] = "true" if replayed else "false"
        return response


class MeterEventBatchAttestApi(APIView):
    """Attest up to 100 meter events of the authenticated tenant in one call."""

    authentication_classes = [TenantApiKeyAuthentication]
    max_events = 100

    def post(self, request: Request) -> Response:
        """Return ``{"results": [{status, bundle, error}], "attested",
        "replayed", "rejected"}`` (200; per-event errors inside ``results``)."""
        check_attest_secret(request)
        body = _json_object(request, '{"events": [...]}')
        events = body.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= self.max_events:
            raise BundleFormatError(
                f"events must be a list of 1 to {self.max_events} meter envelopes or events",
                field="events",
            )
        outcomes = meter_events_attest(payloads=events, tenant=request.user)
        results = [
            {
                "status": o.status,
                "bundle": o.bundle,
                "error": o.error.as_dict() if o.error is not None else None,
            }
            for o in outcomes
        ]
        counts = {
            s: sum(o.status == s for o in outcomes)
            for s in ("attested", "replayed", "rejected")
        }
        return Response({"results": results, **counts})


class BundleVerifyApi(APIView):
    """Verify a bundle against this server's trust anchors (no auth)."""

    def post(self, request: Request) -> Response:
        """Return ``{ok, profile, checks, billing_check, ...}`` (200 even when
        the bundle is invalid; 400 only for a body that is not JSON)."""
        profile = (
            request.query_params.get("profile") or settings.VDI_BILLING_VERIFY_PROFILE
        )
        if profile not in PROFILES:
            raise ProfileUnsupported(
                f"profile {profile!r} is not supported; use one of {list(PROFILES)}",
                field="profile",
            )
        verifier = BundleVerifier(trust_anchors_get(), profile=profile)
        return Response(verifier.verify(request.data).to_json())


class BundleDetailApi(APIView):
    """Fetch one of the authenticated tenant's bundles by receipt id."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, receipt_id: str) -> Response:
        """Return the stored bundle or 404 ``bundle_not_found``."""
        return Response(bundle_get(receipt_id=receipt_id, tenant=request.user))


class TrustAnchorsApi(APIView):
    """Publish the trust anchors (``/.well-known/vdi-billing-trust.json``)."""

    def get(self, request: Request) -> Response:
        """Return the trust-anchor document."""
        response = Response(trust_anchors_get().to_json())
        response["Cache-Control"] = "public, max-age=300"
        return response
