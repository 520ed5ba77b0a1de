"""The tenant's gateway meter keys: list, register, retire, revoke
(``/api/vdi/billing/meter-keys``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.shared import json_object
from billing.authentication import TenantApiKeyAuthentication
from billing.models import MeterKey
from billing.selectors import (
    meter_key_get,
    meter_key_list,
)
from billing.services.tenants import (
    meter_key_register,
    meter_key_retire,
    meter_key_revoke,
)


class MeterKeyOutputSerializer(serializers.ModelSerializer):
    """A tenant meter key as the API shows it (public key as a JWK)."""

    jwk = serializers.SerializerMethodField()

    class Meta:
        model = MeterKey
        fields = ("kid", "jwk", "not_before", "not_after", "created_at")

    def get_jwk(self, obj: MeterKey) -> dict[str, str]:
        """Return the OKP JWK (RFC 8037) of the stored public key."""
        return {"kty": "OKP", "crv": "Ed25519", "x": obj.public_key_b64url}


class MeterKeyListCreateApi(APIView):
    """List or register the authenticated tenant's gateway meter keys."""

    authentication_classes = [TenantApiKeyAuthentication]

    class InputSerializer(serializers.Serializer[Any]):
        """``{"jwk": {kty, crv, x}, "not_before"?, "not_after"?}`` or the bare
        JWK with the optional window members beside ``kty``/``crv``/``x``."""

        jwk = serializers.DictField(required=False)
        kty = serializers.CharField(required=False)
        crv = serializers.CharField(required=False)
        x = serializers.CharField(required=False)
        not_before = serializers.DateTimeField(required=False, allow_null=True)
        not_after = serializers.DateTimeField(required=False, allow_null=True)

    def get(self, request: Request) -> Response:
        """Return ``{"data": [meter keys]}``."""
        rows = meter_key_list(tenant=request.user)
        return Response({"data": MeterKeyOutputSerializer(rows, many=True).data})

    def post(self, request: Request) -> Response:
        """Register a key; 201 with the key (``kid`` = RFC 7638 thumbprint),
        409 ``meter_key_conflict`` if already registered."""
        data = json_object(request, "a JWK")
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        jwk = fields.get("jwk") or {
            name: fields[name] for name in ("kty", "crv", "x") if name in fields
        }
        row = meter_key_register(
            tenant=request.user,
            jwk=jwk,
            not_before=fields.get("not_before"),
            not_after=fields.get("not_after"),
            actor=f"tenant:{request.user.slug}",
        )
        return Response(MeterKeyOutputSerializer(row).data, status=201)


class MeterKeyRetireApi(APIView):
    """End one of the tenant's meter keys' window now (idempotent)."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request, kid: str) -> Response:
        """Return the key with its new ``not_after``; 404 for another
        tenant's or an unknown kid."""
        row = meter_key_retire(
            meter_key=meter_key_get(tenant=request.user, kid=kid),
            actor=f"tenant:{request.user.slug}",
        )
        return Response(MeterKeyOutputSerializer(row).data)


class MeterKeyRevokeApi(APIView):
    """Revoke one of the tenant's meter keys (listed in the next revocation
    snapshot; strict verification then refuses everything it signed)."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request, kid: str) -> Response:
        """Return ``{"kid", "revoked_at"}`` (201); 404 for another tenant's
        or an unknown kid; 409 ``already_revoked``; 400
        ``revocation_input_invalid`` for a ``reason`` over 500 characters."""
        row = meter_key_get(tenant=request.user, kid=kid)
        body = request.data if isinstance(request.data, dict) else {}
        revoked = meter_key_revoke(
            tenant=request.user, meter_key=row, reason=str(body.get("reason") or "")
        )
        return Response(
            {"kid": row.kid, "revoked_at": revoked.revoked_at.isoformat()},
            status=201,
        )
