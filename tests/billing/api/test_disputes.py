"""``/api/vdi/billing/disputes``: a tenant opens, lists, reads, adds evidence
to and withdraws its own disputes; another tenant's receipt or dispute is a
404 and nothing is stored."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle, Dispute, DisputeEvidence
from billing.services.disputes import dispute_review_start
from tests.billing.factories import BundleFactory
from tests.billing.support import TenantSetup, make_event, tenant_client

DISPUTES = "/api/vdi/billing/disputes"
pytestmark = pytest.mark.django_db


def _file(content: bytes, name: str = "access.log") -> dict[str, str]:
    return {
        "name": name,
        "sha256": hashlib.sha256(content).hexdigest(),
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


@pytest.fixture
def receipt(tenant_setup: TenantSetup) -> str:
    """The receipt id of a bundle of tenant ``acme`` attested by the API."""
    response = tenant_setup.client.post(
        "/api/vdi/billing/attest", make_event(), format="json"
    )
    assert response.status_code == 201, response.content
    return str(response.json()["attestation"]["receipt"]["receipt_id"])


def _open(client: APIClient, receipt_id: str, **extra: Any) -> Any:
    body = {"receipt_id": receipt_id, "reason": "duplicate", **extra}
    return client.post(DISPUTES, body, format="json")


def test_open_returns_the_dispute_with_its_verification(
    tenant_setup: TenantSetup, receipt: str
) -> None:
    """201 with the dispute: needs_response, due date, the recorded report,
    the pinned evidence; the detail answers the same."""
    response = _open(
        tenant_setup.client,
        receipt,
        evidence_text="two charges, one call",
        evidence_files=[_file(b"GET /v1/search 200\n")],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["receipt_id"] == receipt and body["state"] == "needs_response"
    assert body["reason"] == "duplicate" and body["decision"] is None
    assert body["verification"]["ok"] is True
    assert body["verification"]["report"]["profile"] == "standard"
    assert body["evidence_text"] == "two charges, one call"
    (item,) = body["evidence_files"]
    assert item["size_bytes"] == 19
    assert item["sha256"] == hashlib.sha256(b"GET /v1/search 200\n").hexdigest()
    assert body["evidence_due_by"].endswith("Z") and body["credit_note_id"] is None
    detail = tenant_setup.client.get(f"{DISPUTES}/{body['dispute_id']}")
    assert detail.status_code == 200 and detail.json() == body


def test_another_tenants_receipt_is_404_and_nothing_stored(
    tenant_setup: TenantSetup, receipt: str
) -> None:
    """Tenant ``other`` cannot dispute acme's receipt (nor an unknown one)."""
    other = tenant_client("other")
    for receipt_id in (receipt, "rcpt_nope"):
        response = _open(other, receipt_id)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "bundle_not_found"
        assert response.json()["error"]["field"] == "receipt_id"
    assert Dispute.objects.count() == 0


def test_bad_sha256_is_400_and_nothing_stored(
    tenant_setup: TenantSetup, receipt: str
) -> None:
    """A digest that is not the content's refuses the dispute; so does
    content that is not base64."""
    bad = {**_file(b"real"), "sha256": hashlib.sha256(b"fake").hexdigest()}
    response = _open(tenant_setup.client, receipt, evidence_files=[bad])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "dispute_evidence_sha256_mismatch"
    assert error["field"] == "evidence_files[0].sha256"
    garbage = {**_file(b"real"), "content_base64": "cmVhbA"}  # no padding
    response = _open(tenant_setup.client, receipt, evidence_files=[garbage])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "dispute_evidence_invalid"
    assert Dispute.objects.count() == 0 and DisputeEvidence.objects.count() == 0


def test_input_errors_are_400(tenant_setup: TenantSetup, receipt: str) -> None:
    """An unknown reason and a body that is not an object are 400."""
    response = tenant_setup.client.post(
        DISPUTES, {"receipt_id": receipt, "reason": "because"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "reason"
    response = tenant_setup.client.post(DISPUTES, [1], format="json")
    assert response.status_code == 400
    assert Dispute.objects.count() == 0


def test_a_second_open_dispute_is_409(tenant_setup: TenantSetup, receipt: str) -> None:
    """At most one open dispute per bundle."""
    assert _open(tenant_setup.client, receipt).status_code == 201
    response = _open(tenant_setup.client, receipt)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dispute_exists"


def test_body_over_the_limit_is_413(
    tenant_setup: TenantSetup, receipt: str, settings: Any
) -> None:
    """MP_DISPUTE_MAX_BODY_BYTES bounds the body before it is parsed."""
    settings.MP_DISPUTE_MAX_BODY_BYTES = 1000
    response = _open(tenant_setup.client, receipt, evidence_files=[_file(b"x" * 2000)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_evidence_and_withdraw(tenant_setup: TenantSetup, receipt: str) -> None:
    """Evidence is added while needs_response; withdraw closes the dispute;
    afterwards both are 409 dispute_state_invalid."""
    dispute_id = _open(tenant_setup.client, receipt).json()["dispute_id"]
    url = f"{DISPUTES}/{dispute_id}"
    response = tenant_setup.client.post(
        f"{url}/evidence",
        {"evidence_text": "more", "evidence_files": [_file(b"trace")]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["evidence_text"] == "more"
    assert len(response.json()["evidence_files"]) == 1
    response = tenant_setup.client.post(f"{url}/evidence", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "dispute_evidence_invalid"
    response = tenant_setup.client.post(f"{url}/withdraw")
    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    assert response.json()["withdrawn_at"] is not None
    for path, body in (
        (f"{url}/withdraw", None),
        (f"{url}/evidence", {"evidence_text": "x"}),
    ):
        response = tenant_setup.client.post(path, body, format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "dispute_state_invalid"


def test_evidence_under_review_is_409(tenant_setup: TenantSetup, receipt: str) -> None:
    """Once staff review, the tenant can add no evidence."""
    dispute_id = _open(tenant_setup.client, receipt).json()["dispute_id"]
    dispute_review_start(dispute=Dispute.objects.get(dispute_id=dispute_id))
    response = tenant_setup.client.post(
        f"{DISPUTES}/{dispute_id}/evidence", {"evidence_text": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dispute_state_invalid"


def test_another_tenants_dispute_is_404(
    tenant_setup: TenantSetup, receipt: str
) -> None:
    """Detail, evidence and withdraw of acme's dispute are 404 for ``other``."""
    dispute_id = _open(tenant_setup.client, receipt).json()["dispute_id"]
    other = tenant_client("other")
    url = f"{DISPUTES}/{dispute_id}"
    for response in (
        other.get(url),
        other.post(f"{url}/withdraw"),
        other.post(f"{url}/evidence", {"evidence_text": "x"}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "dispute_not_found"
    assert Dispute.objects.get(dispute_id=dispute_id).state == "needs_response"
    assert other.get(DISPUTES).json()["data"] == []


def test_list_is_newest_first_paginated_and_filtered(tenant_setup: TenantSetup) -> None:
    """Cursor pages walk every dispute once, newest first; ``state``
    filters; bad parameters are 400 naming them."""
    tenant = tenant_setup.tenant
    bundles = [BundleFactory(tenant=tenant) for _ in range(5)]
    ids = [
        _open(tenant_setup.client, b.receipt_id).json()["dispute_id"] for b in bundles
    ]
    tenant_setup.client.post(f"{DISPUTES}/{ids[1]}/withdraw")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = tenant_setup.client.get(DISPUTES, params).json()
        seen += [item["dispute_id"] for item in body["data"]]
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == ids[::-1]
    item = tenant_setup.client.get(DISPUTES, {"limit": "1"}).json()["data"][0]
    assert set(item) == {
        "dispute_id",
        "receipt_id",
        "reason",
        "state",
        "evidence_due_by",
        "verification_ok",
        "opened_at",
        "updated_at",
        "url",
    }
    assert item["url"].endswith(f"{DISPUTES}/{ids[-1]}")
    withdrawn = tenant_setup.client.get(DISPUTES, {"state": "withdrawn"}).json()
    assert [i["dispute_id"] for i in withdrawn["data"]] == [ids[1]]
    for params, field in (
        ({"state": "open"}, "state"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nope"}, "cursor"),
        ({"sort": "x"}, "sort"),
    ):
        response = tenant_setup.client.get(DISPUTES, params)
        assert response.status_code == 400
        assert response.json()["error"]["field"] == field


def test_needs_an_api_key(db: Any) -> None:
    """Without a key every dispute route is 401."""
    client = APIClient()
    assert client.get(DISPUTES).status_code == 401
    assert client.post(DISPUTES, {}, format="json").status_code == 401
    assert Bundle.objects.count() == 0
