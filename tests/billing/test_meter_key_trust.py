"""Tenant meter keys and the published trust: a tenant can neither claim nor
revoke the server's keys (or another tenant's), degenerate Ed25519 points are
refused, a revoked gateway key stops minting charges at once and is published
as ``revoked``, and nothing a tenant registers can break the trust document
the offline verifier parses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import MeterKey
from billing.protocol.errors import KeyFormatError, TrustAnchorError
from billing.protocol.keys import (
    CONTEXT_METER_ENVELOPE,
    KeyPair,
    b64url_encode,
    public_jwk,
    sign_object,
)
from billing.protocol.trust import TrustAnchors
from billing.selectors import trust_anchors_get
from billing.services.tenants import api_key_issue, meter_key_register
from revocation.models import RevokedKey
from tests.billing.conftest import TenantSetup
from tests.billing.factories import TenantFactory

KEYS = "/api/vdi/billing/meter-keys"
ATTEST = "/api/vdi/billing/attest"
BATCH = "/api/vdi/billing/attest/batch"
TRUST = "/.well-known/vdi-billing-trust.json"
pytestmark = pytest.mark.django_db

_P = 2**255 - 19
#: Degenerate Ed25519 public keys: the all-zero encoding (y = 0, order 4), the
#: identity (y = 1, order 1) and a non-canonical encoding of it (y = p + 1).
DEGENERATE_KEYS = {
    "all_zero": bytes(32),
    "identity": (1).to_bytes(32, "little"),
    "non_canonical_identity": (_P + 1).to_bytes(32, "little"),
}


def tenant_client(slug: str) -> APIClient:
    """A client authenticated as a new tenant ``slug``."""
    tenant = TenantFactory(slug=slug)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_issue(tenant=tenant).secret}"
    )
    return client


def envelope(key: KeyPair, event: dict[str, Any]) -> dict[str, Any]:
    """A meter envelope of ``event`` signed by ``key``."""
    return {
        "event": event,
        "kid": key.kid,
        "sig": sign_object(key.signing_key, CONTEXT_METER_ENVELOPE, event),
    }


# --------------------------------------------------------------------------
# Item 1: the server's keys and other tenants' keys cannot be claimed
# --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["issuer", "log_operator", "meter", "authority"])
def test_server_key_cannot_be_registered_as_a_gateway_key(
    tenant_setup: TenantSetup, signing_keys: Any, role: str
) -> None:
    """Registering a server key (copied from trust.json) is a 409
    meter_key_conflict with the same message as an already registered key; no
    row is stored and the tenant cannot revoke that kid."""
    server_key: KeyPair = getattr(signing_keys, role)
    response = tenant_setup.client.post(
        KEYS, public_jwk(server_key.verify_key), format="json"
    )
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "meter_key_conflict"
    assert MeterKey.objects.count() == 0

    # The message is the one a tenant sees for any already registered key, so
    # it reveals nothing about who holds the key.
    gateway = KeyPair.generate()
    tenant_client("globex").post(KEYS, public_jwk(gateway.verify_key), format="json")
    taken = tenant_setup.client.post(
        KEYS, public_jwk(gateway.verify_key), format="json"
    ).json()["error"]
    assert error["message"].replace(server_key.kid, "<kid>") == taken[
        "message"
    ].replace(gateway.kid, "<kid>")

    revoke = tenant_setup.client.post(f"{KEYS}/{server_key.kid}/revoke")
    assert revoke.status_code == 404
    assert not RevokedKey.objects.exists()


def test_retired_server_key_cannot_be_registered(
    tenant_setup: TenantSetup, settings: Any
) -> None:
    """A retired server key (still published) is refused like an active one."""
    retired = KeyPair.generate()
    settings.VDI_BILLING_RETIRED_KEYS = json.dumps(
        [
            {
                "role": "issuer",
                "kid": retired.kid,
                "jwk": public_jwk(retired.verify_key),
                "not_before": None,
                "not_after": "2026-01-01T00:00:00Z",
            }
        ]
    )
    response = tenant_setup.client.post(
        KEYS, public_jwk(retired.verify_key), format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "meter_key_conflict"
    assert MeterKey.objects.count() == 0


@pytest.mark.parametrize("name", sorted(DEGENERATE_KEYS))
def test_degenerate_ed25519_keys_are_refused(
    tenant_setup: TenantSetup, name: str
) -> None:
    """Small-order and non-canonical Ed25519 points are 400 key_format_invalid
    (JWK and raw forms); nothing is stored."""
    raw = DEGENERATE_KEYS[name]
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    response = tenant_setup.client.post(KEYS, jwk, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "key_format_invalid"
    with pytest.raises(KeyFormatError) as caught:
        meter_key_register(
            tenant=tenant_setup.tenant, public_key_b64url=b64url_encode(raw)
        )
    assert caught.value.code == "key_format_invalid"
    assert MeterKey.objects.count() == 0


@pytest.mark.parametrize("name", sorted(DEGENERATE_KEYS))
def test_trust_parser_refuses_degenerate_keys(signing_keys: Any, name: str) -> None:
    """The verifier's trust-file parser refuses a small-order or
    non-canonical key entry (TrustAnchorError naming the jwk)."""
    doc = trust_anchors_get().to_json()
    entry = dict(doc["keys"][0])
    entry["jwk"] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(DEGENERATE_KEYS[name]),
    }
    doc["keys"] = [entry]
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchors.from_json(doc)
    assert caught.value.code == "trust_anchors_invalid"
    assert caught.value.field == "keys[0].jwk"
