"""The verify API, trust anchors and log head, checked against independent code."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from kernel.protocol.ed25519 import key_id, verify_key_from_jwk
from tests.billing.protocol.check_names import STANDARD_CHECK_NAMES
from tests.billing.support import TenantSetup, make_event
from transparency.models import LogEntry
from transparency.protocol.checkpoint import parse_checkpoint
from transparency.protocol.merkle import root_hash
from transparency.protocol.note import open_note

pytestmark = pytest.mark.django_db
VERIFY = "/api/vdi/billing/verify"


@pytest.fixture
def bundle(tenant_setup: TenantSetup) -> dict[str, Any]:
    """A freshly attested bundle."""
    return tenant_setup.client.post(
        "/api/vdi/billing/attest", make_event(), format="json"
    ).json()


def test_valid_bundle_reports_every_named_check(bundle: dict[str, Any]) -> None:
    """No auth needed; each check is named; billing_check has the recomputed charge."""
    body = APIClient().post(VERIFY, bundle, format="json").json()
    assert body["ok"] is True and body["profile"] == "standard"
    names = [c["name"] for c in body["checks"]]
    assert names == list(STANDARD_CHECK_NAMES)
    statuses = {c["name"]: c["status"] for c in body["checks"]}
    assert statuses.pop("billing_proof") == "skip"
    assert set(statuses.values()) == {"pass"}
    assert body["billing_check"]["expected_amount_minor"] == 6
    assert (
        body["billing_check"]["billing_verify_fingerprint"]
        == bundle["attestation"]["billing_verify_fingerprint"]
    )


def test_tampered_charge_fails_closed(bundle: dict[str, Any]) -> None:
    """Raising the amount breaks charge_recompute and the issuer signature."""
    tampered = copy.deepcopy(bundle)
    tampered["attestation"]["charge"]["amount_minor"] += 1
    body = APIClient().post(VERIFY, tampered, format="json").json()
    assert body["ok"] is False
    failed = {c["name"] for c in body["checks"] if c["status"] == "fail"}
    assert {"charge_recompute", "issuer_signature", "log_inclusion"} <= failed
    assert body["billing_check"]["ok"] is False


@pytest.mark.parametrize("junk", [[], "x", 1, {}, {"format": "vdi-billing/2"}])
def test_garbage_is_a_failed_report_not_an_error(signing_keys: Any, junk: Any) -> None:
    """Anything JSON gets a 200 report with bundle_format failed (fail closed)."""
    response = APIClient().post(VERIFY, junk, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert (
        body["checks"][0]["name"] == "bundle_format"
        and body["checks"][0]["status"] == "fail"
    )


def test_malformed_json_is_400(signing_keys: Any) -> None:
    """A body that is not JSON is a 400 malformed_json."""
    response = APIClient().generic("POST", VERIFY, "{", content_type="application/json")
    assert (
        response.status_code == 400
        and response.json()["error"]["code"] == "malformed_json"
    )


def test_unknown_profile_is_400(bundle: dict[str, Any]) -> None:
    """An unsupported profile is refused, never silently downgraded."""
    response = APIClient().post(
        VERIFY + "?profile=VDI_VERIFY_LAX_V0", bundle, format="json"
    )
    assert (
        response.status_code == 400
        and response.json()["error"]["code"] == "profile_unsupported"
    )


def test_trust_anchors_publish_thumbprints(signing_keys: Any, client: Any) -> None:
    """Each published kid is the RFC 7638 thumbprint of its JWK; roles are complete."""
    body = client.get("/.well-known/vdi-billing-trust.json").json()
    roles = {k["role"]: k for k in body["keys"]}
    assert set(roles) == {"meter", "issuer", "log_operator", "manifest_authority"}
    for entry in body["keys"]:
        assert entry["kid"] == key_id(verify_key_from_jwk(entry["jwk"]))
    assert roles["meter"]["kid"] == signing_keys.meter.kid
    assert roles["issuer"]["kid"] == signing_keys.issuer.kid
    vkey = body["log"]["verifier_keys"][0]
    assert vkey.startswith(body["log"]["origin"] + "+")
    # the note verifier key holds the log operator's public key (C2SP: 0x01 || key)
    raw = base64.b64decode(vkey.split("+", 2)[2])
    assert raw[0] == 1 and raw[1:] == bytes(signing_keys.log_operator.verify_key)


def test_head_matches_an_independent_root(
    tenant_setup: TenantSetup, client: Any
) -> None:
    """The head's root equals the RFC 9162 root recomputed from the leaves, and its
    checkpoint is signed by the published log key."""
    for i in range(5):
        tenant_setup.client.post(
            "/api/vdi/billing/attest", make_event(event_id=f"e{i}"), format="json"
        )
    head = client.get("/api/vdi/billing/transparency/head").json()

    leaves = [
        bytes.fromhex(h)
        for h in LogEntry.objects.order_by("leaf_index").values_list(
            "leaf_hash", flat=True
        )
    ]
    assert head["tree_size"] == 5
    assert head["root_hash"] == root_hash(leaves).hex()
    assert head["latest_leaf_hash"] == leaves[-1].hex()
    trust = client.get("/.well-known/vdi-billing-trust.json").json()
    note = open_note(head["checkpoint"], trust["log"]["verifier_keys"])
    checkpoint = parse_checkpoint(note.text)
    assert checkpoint.tree_size == 5 and checkpoint.root_hash.hex() == head["root_hash"]


def test_empty_log_head(signing_keys: Any, client: Any) -> None:
    """An empty log reports size 0 and no checkpoint."""
    head = client.get("/api/vdi/billing/transparency/head").json()
    assert head["tree_size"] == 0 and head["checkpoint"] is None
