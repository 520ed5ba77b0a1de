"""Attest: one meter event, or a batch of up to 100, for the authenticated
tenant (``POST /api/vdi/billing/attest`` and ``.../attest/batch``)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.shared import check_body_size, json_object
from billing.authentication import TenantApiKeyAuthentication, check_attest_secret
from billing.protocol.errors import BundleFormatError
from billing.services.attest import meter_event_attest, meter_events_attest
from billing.settings import billing_settings


class MeterEventAttestApi(APIView):
    """Attest one meter event for the authenticated tenant."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request) -> Response:
        """Return the bundle (201 new, 200 replayed)."""
        check_attest_secret(request)
        check_body_size(request, billing_settings.max_body_bytes)
        payload = json_object(request, "a meter envelope or meter event")
        outcome = meter_event_attest(payload=payload, tenant=request.user)
        replayed = outcome.status == "replayed"
        response = Response(outcome.bundle, status=200 if replayed else 201)
        response["Idempotent-Replayed"] = "true" if replayed else "false"
        response["Billing-Proof-Status"] = str(outcome.proof_status or "none")
        return response


class MeterEventBatchAttestApi(APIView):
    """Attest up to 100 meter events of the authenticated tenant in one call."""

    authentication_classes = [TenantApiKeyAuthentication]
    max_events = 100

    def post(self, request: Request) -> Response:
        """Return ``{"results": [{status, bundle, error}], "attested",
        "replayed", "rejected"}`` (200; per-event errors inside ``results``)."""
        check_attest_secret(request)
        body = json_object(request, '{"events": [...]}')
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
                "proof_status": o.proof_status,
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
