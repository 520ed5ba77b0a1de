"""Verify: a bundle against this server's trust anchors, no authentication
(``POST /api/vdi/billing/verify``), and the trust anchors themselves
(``GET /.well-known/vdi-billing-trust.json``)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.shared import check_body_size
from billing.protocol.errors import ProfileUnsupportedError
from billing.protocol.verify import (
    PROFILE_STRICT,
    PROFILES,
    BundleVerifier,
    resolve_profile,
)
from billing.selectors import (
    trust_anchors_get,
    verification_options_get,
)
from billing.settings import billing_settings


class BundleVerifyApi(APIView):
    """Verify a bundle against this server's trust anchors (no auth)."""

    def post(self, request: Request) -> Response:
        """Return ``{ok, profile, checks, billing_check, ...}`` (200 even when
        the bundle is invalid; 400 only for a body that is not JSON or an
        unsupported profile; 413 ``payload_too_large`` above
        ``MP_MAX_BODY_BYTES``).

        The profile is the ``profile`` query parameter, else the ``profile``
        member of a ``{"bundle", "profile"}`` body, else
        ``VDI_BILLING_VERIFY_PROFILE``. Under ``VDI_VERIFY_STRICT_V1`` the
        report's ``revocation`` adds the snapshot's ``source``.
        """
        # Bounded like attest: a bundle is a few KB, and a huge deeply nested
        # body must not reach the JSON parser (C stack, see
        # kernel.protocol.strictjson and circuits.protocol.groth16).
        check_body_size(request, billing_settings.max_body_bytes)
        body = request.data
        bundle: Any = body
        requested = request.query_params.get("profile")
        if isinstance(body, dict) and "bundle" in body and "attestation" not in body:
            bundle = body["bundle"]
            requested = requested or body.get("profile")
        profile = resolve_profile(str(requested or billing_settings.verify_profile))
        if profile not in PROFILES:
            raise ProfileUnsupportedError(
                f"profile {profile!r} is not supported; use one of {list(PROFILES)}",
                field="profile",
            )
        options, meta = verification_options_get(profile=profile)
        verifier = BundleVerifier(trust_anchors_get(), profile=profile, **options)
        report = verifier.verify(bundle).to_json()
        if profile == PROFILE_STRICT and report.get("revocation") is not None:
            report["revocation"]["source"] = meta.get("source")
        return Response(report)


class TrustAnchorsApi(APIView):
    """Publish the trust anchors (``/.well-known/vdi-billing-trust.json``)."""

    def get(self, request: Request) -> Response:
        """Return the trust-anchor document."""
        response = Response(trust_anchors_get().to_json())
        response["Cache-Control"] = "public, max-age=300"
        return response
