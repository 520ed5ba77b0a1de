"""Tenant meter keys and the published trust: a tenant can neither claim nor
revoke the server's keys (or another tenant's), degenerate Ed25519 points are
refused, a revoked gateway key stops minting charges at once and is published
as ``revoked``, and nothing a tenant registers can break the trust document
the offline verifier parses."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle, MeterKey
from billing.protocol.errors import TrustAnchorError
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import PROFILE_STRICT, verify_bundle
from billing.selectors import trust_anchors_get, verification_options_get
from billing.services.tenants import meter_key_register
from kernel.protocol.ed25519 import KeyPair, b64url_encode, public_jwk
from kernel.protocol.errors import KeyFormatError
from revocation.models import RevokedKey
from revocation.services.revocations import revocation_key_add
from tests.billing.support import (
    TenantSetup,
    make_event,
    meter_envelope,
    tenant_client,
)

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


# --------------------------------------------------------------------------
# Item 1: the server's keys and other tenants' keys cannot be claimed
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["issuer", "log_operator", "meter", "manifest_authority"]
)
def test_server_key_cannot_be_registered_as_a_gateway_key(
    tenant_setup: TenantSetup, signing_keys: Any, role: str
) -> None:
    """Registering a server key copied from the published trust.json is a 409
    meter_key_conflict with the same message as an already registered key; no
    row is stored and the tenant cannot revoke that kid."""
    published = [
        entry
        for entry in tenant_setup.client.get(TRUST).json()["keys"]
        if entry["role"] == role and entry["tenant"] is None
    ]
    assert published, f"trust.json publishes no {role} key"
    server_jwk, server_kid = published[0]["jwk"], published[0]["kid"]
    response = tenant_setup.client.post(KEYS, server_jwk, format="json")
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
    assert error["message"].replace(server_kid, "<kid>") == taken["message"].replace(
        gateway.kid, "<kid>"
    )

    revoke = tenant_setup.client.post(f"{KEYS}/{server_kid}/revoke")
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


# --------------------------------------------------------------------------
# Item 2: a revoked gateway key stops minting charges at once
# --------------------------------------------------------------------------


def registered_gateway(setup: TenantSetup) -> KeyPair:
    """A gateway key registered by ``setup``'s tenant over the API."""
    gateway = KeyPair.generate()
    response = setup.client.post(KEYS, public_jwk(gateway.verify_key), format="json")
    assert response.status_code == 201, response.content
    return gateway


def published_status(kid: str) -> str:
    """The ``status`` the published trust.json gives ``kid``."""
    doc = APIClient().get(TRUST).json()
    return str(next(k for k in doc["keys"] if k["kid"] == kid)["status"])


def test_tenant_revoked_key_cannot_attest(tenant_setup: TenantSetup) -> None:
    """After the tenant revokes its gateway key, single and batch attests of
    new events it signed are refused (403 meter_key_revoked, nothing stored),
    and trust.json lists the kid as revoked."""
    gateway = registered_gateway(tenant_setup)
    first = tenant_setup.client.post(
        ATTEST,
        meter_envelope(gateway, make_event(event_id="evt_before")),
        format="json",
    )
    assert first.status_code == 201, first.content
    assert published_status(gateway.kid) == "active"

    revoke = tenant_setup.client.post(
        f"{KEYS}/{gateway.kid}/revoke", {"reason": "gateway stolen"}, format="json"
    )
    assert revoke.status_code == 201, revoke.content
    assert published_status(gateway.kid) == "revoked"

    before = MeterKey.objects.count(), Bundle.objects.count()
    single = tenant_setup.client.post(
        ATTEST, meter_envelope(gateway, make_event(event_id="evt_after")), format="json"
    )
    assert single.status_code == 403, single.content
    assert single.json()["error"]["code"] == "meter_key_revoked"
    assert single.json()["error"]["field"] == "kid"
    batch = tenant_setup.client.post(
        BATCH,
        {"events": [meter_envelope(gateway, make_event(event_id="evt_batch"))]},
        format="json",
    )
    assert batch.status_code == 200, batch.content
    result = batch.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "meter_key_revoked"
    assert (MeterKey.objects.count(), Bundle.objects.count()) == before

    # The bundle signed before the revocation still verifies under the
    # standard profile; the strict profile refuses it with kid_revoked.
    bundle = first.json()
    assert verify_bundle(bundle, trust_anchors_get()).ok
    options, _ = verification_options_get(profile=PROFILE_STRICT)
    strict = verify_bundle(
        bundle, trust_anchors_get(), profile=PROFILE_STRICT, **options
    )
    failed = {c.name: c.code for c in strict.checks if c.status == "fail"}
    assert failed.get("not_revoked") == "kid_revoked"


def test_staff_revoked_key_cannot_attest(
    tenant_setup: TenantSetup, django_user_model: Any
) -> None:
    """A staff revocation of a tenant's gateway kid refuses its events at once."""
    gateway = registered_gateway(tenant_setup)
    staff = django_user_model.objects.create_superuser(
        username="carol", email="carol@example.com", password="pw-carol-123"
    )
    revocation_key_add(kid=gateway.kid, reason="compromised", actor=staff)
    response = tenant_setup.client.post(
        ATTEST, meter_envelope(gateway, make_event()), format="json"
    )
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "meter_key_revoked"
    assert published_status(gateway.kid) == "revoked"
    assert not Bundle.objects.exists()


# --------------------------------------------------------------------------
# Item 3: nothing a tenant registers can break the published trust
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["not_before", "not_after"])
def test_unpublishable_window_is_refused(tenant_setup: TenantSetup, name: str) -> None:
    """A bound in year 0999 (no RFC 3339 spelling the verifier parses) is 400
    meter_key_invalid naming the field; trust.json stays parseable."""
    gateway = KeyPair.generate()
    body = {**public_jwk(gateway.verify_key), name: "0999-01-01T00:00:00Z"}
    response = tenant_setup.client.post(KEYS, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("meter_key_invalid", name)
    assert MeterKey.objects.count() == 0
    TrustAnchors.from_json(APIClient().get(TRUST).json())


# --------------------------------------------------------------------------
# Item 21: the tenant's revocation reason cannot forge log lines
# --------------------------------------------------------------------------


def test_tenant_revocation_reason_is_escaped_and_tenant_is_actor(
    tenant_setup: TenantSetup, caplog: pytest.LogCaptureFixture
) -> None:
    """A newline in the reason is escaped in the log (one line), and the
    revocation is recorded as done by the tenant, not "system"."""
    gateway = registered_gateway(tenant_setup)
    forged = "lost\nWARNING meterproof.revocation kid X revoked by admin: ok"
    with caplog.at_level(logging.WARNING, logger="meterproof.revocation"):
        response = tenant_setup.client.post(
            f"{KEYS}/{gateway.kid}/revoke", {"reason": forged}, format="json"
        )
    assert response.status_code == 201, response.content
    lines = [r.getMessage() for r in caplog.records if gateway.kid in r.getMessage()]
    assert lines and all("\n" not in line and "\r" not in line for line in lines)
    row = RevokedKey.objects.get(kid=gateway.kid)
    assert row.revoked_by_label == "tenant:acme"
    assert row.reason == forged


@pytest.mark.parametrize(
    ("public_key", "not_after"),
    [
        (bytes(32), None),
        (None, datetime(999, 1, 1, tzinfo=UTC)),
    ],
    ids=["all_zero_key", "year_0999"],
)
def test_legacy_unpublishable_row_is_left_out_of_trust(
    tenant_setup: TenantSetup,
    public_key: bytes | None,
    not_after: datetime | None,
) -> None:
    """A row stored before registration checked keys and windows is left out
    of trust.json, which stays parseable by the verifiers' parser."""
    good = registered_gateway(tenant_setup)
    raw = public_key or bytes(KeyPair.generate().verify_key)
    MeterKey.objects.create(
        tenant=tenant_setup.tenant,
        kid="legacy-row-kid-0000000000000000000000000000"[:43],
        public_key_b64url=b64url_encode(raw),
        not_after=not_after,
    )
    trust = TrustAnchors.from_json(APIClient().get(TRUST).json())
    kids = {key.kid for key in trust.keys}
    assert good.kid in kids
    assert not any(key.kid.startswith("legacy") for key in trust.keys)


def test_tenant_cannot_revoke_a_server_kid_held_by_a_legacy_row(
    tenant_setup: TenantSetup, signing_keys: Any
) -> None:
    """A row registered before server keys were refused (the issuer's key)
    cannot be used to revoke that kid: 409 meter_key_conflict, nothing
    revoked or published."""
    issuer = signing_keys.issuer
    MeterKey.objects.create(
        tenant=tenant_setup.tenant,
        kid=issuer.kid,
        public_key_b64url=b64url_encode(bytes(issuer.verify_key)),
    )
    response = tenant_setup.client.post(f"{KEYS}/{issuer.kid}/revoke")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "meter_key_conflict"
    assert not RevokedKey.objects.exists()
    assert published_status(issuer.kid) == "active"
