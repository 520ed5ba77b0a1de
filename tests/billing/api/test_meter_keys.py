"""Tenant-held meter keys: register (JWK), list, retire, revoke; a gateway
that the tenant runs signs its events, and other tenants' keys are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import MeterKey
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from kernel.protocol.ed25519 import KeyPair, public_jwk
from kernel.protocol.trustedkey import TrustedKey
from revocation.models import RevokedKey
from tests.billing.factories import MeterKeyFactory
from tests.billing.protocol.builders import Keys, make_bundle
from tests.billing.protocol.builders import event_json as protocol_event
from tests.billing.support import (
    TenantSetup,
    make_event,
    meter_envelope,
    tenant_client,
)

KEYS = "/api/vdi/billing/meter-keys"
ATTEST = "/api/vdi/billing/attest"
VERIFY = "/api/vdi/billing/verify"
pytestmark = pytest.mark.django_db


def test_register_list_and_duplicate(tenant_setup: TenantSetup) -> None:
    """POST a JWK -> 201 with its RFC 7638 kid; GET lists it; again -> 409."""
    gateway = KeyPair.generate()
    response = tenant_setup.client.post(
        KEYS,
        {**public_jwk(gateway.verify_key), "not_before": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kid"] == gateway.kid
    assert body["jwk"] == public_jwk(gateway.verify_key)
    assert body["not_before"].startswith("2026-01-01T00:00:00")
    listed = tenant_setup.client.get(KEYS).json()["data"]
    assert [k["kid"] for k in listed] == [gateway.kid]
    again = tenant_setup.client.post(
        KEYS, {"jwk": public_jwk(gateway.verify_key)}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "meter_key_conflict"
    # Another tenant cannot claim the same key either, nor see ours.
    globex = tenant_client("globex")
    assert (
        globex.post(KEYS, public_jwk(gateway.verify_key), format="json").status_code
        == 409
    )
    assert globex.get(KEYS).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kty": "RSA", "crv": "Ed25519", "x": "AAAA"}, "key_format_invalid"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "key_format_invalid"),
        ({}, "key_format_invalid"),
        (
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "not_before": "2026-02-01T00:00:00Z",
                "not_after": "2026-01-01T00:00:00Z",
            },
            "meter_key_invalid",
        ),
    ],
)
def test_register_rejects_bad_keys(
    tenant_setup: TenantSetup, body: dict[str, Any], code: str
) -> None:
    """Malformed JWKs and empty windows are 400s with a stable code."""
    response = tenant_setup.client.post(KEYS, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert MeterKey.objects.count() == 0


def test_meter_keys_need_the_tenant_api_key(db: Any) -> None:
    """No API key -> 401."""
    assert APIClient().get(KEYS).status_code == 401


def test_gateway_signed_event_attests_and_verifies(tenant_setup: TenantSetup) -> None:
    """A tenant registers its gateway key over the API; an envelope signed by the
    gateway attests (201) and the bundle verifies (standard profile API)."""
    gateway = KeyPair.generate()
    assert (
        tenant_setup.client.post(
            KEYS, public_jwk(gateway.verify_key), format="json"
        ).status_code
        == 201
    )
    signed = meter_envelope(gateway, make_event())
    response = tenant_setup.client.post(ATTEST, signed, format="json")
    assert response.status_code == 201, response.content
    bundle = response.json()
    assert bundle["attestation"]["meter_envelope"]["kid"] == gateway.kid
    report = APIClient().post(VERIFY, bundle, format="json").json()
    assert report["ok"] is True, report
    trust = trust_anchors_get().to_json()
    entry = next(k for k in trust["keys"] if k["kid"] == gateway.kid)
    assert (entry["role"], entry["tenant"], entry["status"]) == (
        "meter",
        "acme",
        "active",
    )


def test_other_tenants_key_is_refused(tenant_setup: TenantSetup) -> None:
    """A key registered by globex cannot sign acme's events: attest refuses it,
    and a bundle carrying such an envelope fails tenant_binding."""
    globex_gateway = KeyPair.generate()
    assert (
        tenant_client("globex")
        .post(KEYS, public_jwk(globex_gateway.verify_key), format="json")
        .status_code
        == 201
    )
    signed = meter_envelope(globex_gateway, make_event())
    response = tenant_setup.client.post(ATTEST, signed, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "tenant_mismatch"

    # A bundle (honestly signed by a trusted issuer) that carries the envelope
    # fails tenant_binding against the server's trust anchors (no log: skip).
    keys = Keys.generate()
    bundle = make_bundle(
        Keys(keys.issuer, globex_gateway, keys.log_operator), event=protocol_event()
    )
    del bundle["log"]
    server = trust_anchors_get()
    trust = TrustAnchors(
        keys=(
            *server.keys,
            TrustedKey(keys.issuer.kid, "issuer", keys.issuer.verify_key),
        )
    )
    report = verify_bundle(bundle, trust)
    failed = {c.name: c.code for c in report.checks if c.status == "fail"}
    assert failed == {"tenant_binding": "meter_tenant_mismatch"}


def test_retire_and_revoke(tenant_setup: TenantSetup) -> None:
    """retire ends the window now (published as retired); revoke lists the kid
    in the revocation snapshot; both are 404 for another tenant's key."""
    row = MeterKeyFactory(tenant=tenant_setup.tenant)
    globex = tenant_client("globex")
    assert globex.post(f"{KEYS}/{row.kid}/retire").status_code == 404
    assert globex.post(f"{KEYS}/{row.kid}/revoke").status_code == 404

    response = tenant_setup.client.post(f"{KEYS}/{row.kid}/retire")
    assert response.status_code == 200, response.content
    row.refresh_from_db()
    assert row.not_after is not None and row.not_after <= datetime.now(UTC)
    entry = next(
        k for k in trust_anchors_get().to_json()["keys"] if k["kid"] == row.kid
    )
    assert entry["status"] == "retired" and entry["not_after"] is not None

    response = tenant_setup.client.post(
        f"{KEYS}/{row.kid}/revoke", {"reason": "gateway disk lost"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert RevokedKey.objects.filter(kid=row.kid, lifted_at__isnull=True).exists()
    again = tenant_setup.client.post(f"{KEYS}/{row.kid}/revoke")
    assert again.status_code == 409
