"""API error answers: JSON under /api/, /.well-known/ and /tlog/, never a 500
for hostile input (audit items 13-17)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle, MeterEvent, ReplayReservation
from tests.billing.support import TenantSetup, make_event
from transparency.models import LogEntry

ATTEST = "/api/vdi/billing/attest"
pytestmark = pytest.mark.django_db


def assert_error(
    response: Any, status: int, code: str, field: str | None = "__any__"
) -> dict[str, Any]:
    """``response`` is a JSON error with ``status`` and ``code`` (and ``field``)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content.decode("utf-8"))
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field != "__any__":
        assert body["error"]["field"] == field
    return body["error"]


def _post_raw(client: APIClient, path: str, text: str) -> Any:
    """POST ``text`` (JSON with escapes the test client would not produce)."""
    return client.post(path, data=text.encode(), content_type="application/json")


# --- item 13: NUL and other strings PostgreSQL text cannot hold -------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("a\\u0000b", "meter_event_invalid"),
        # A lone surrogate is not I-JSON: the strict reader refuses the body.
        ("\\ud800", "invalid_unicode"),
        ("x\\udfff", "invalid_unicode"),
    ],
)
def test_unstorable_attribute_value_is_refused(
    tenant_setup: TenantSetup, value: str, code: str
) -> None:
    """An attribute value with NUL or a lone surrogate is a 400 on that
    attribute; nothing is stored."""
    event = make_event()
    text = json.dumps(event).replace('"/v1/search"', f'"{value}"')
    assert_error(
        _post_raw(tenant_setup.client, ATTEST, text), 400, code, "attributes.route"
    )
    assert Bundle.objects.count() == 0 and ReplayReservation.objects.count() == 0


def test_nul_event_fails_alone_in_a_batch(tenant_setup: TenantSetup) -> None:
    """In a batch, the event with a NUL attribute is rejected and the others
    are attested, on every retry."""
    good = [make_event(event_id=f"ok{i}") for i in range(2)]
    bad = make_event(event_id="nul")
    bad["attributes"]["route"] = "NUL-HERE"
    body = json.dumps({"events": [good[0], bad, good[1]]}).replace(
        '"NUL-HERE"', '"x\\u0000"'
    )
    for attempt in range(2):
        response = _post_raw(tenant_setup.client, ATTEST + "/batch", body)
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert [r["status"] for r in results] == [
            "attested" if attempt == 0 else "replayed",
            "rejected",
            "attested" if attempt == 0 else "replayed",
        ]
        assert results[1]["error"]["code"] == "meter_event_invalid"
        assert results[1]["error"]["field"] == "attributes.route"
    assert Bundle.objects.count() == 2 and LogEntry.objects.count() == 2


# --- item 14: errors that echo hostile input ----------------------------------


@pytest.mark.parametrize("key", ["\\ud800", "a\\u0000", "\\udfff\\ud800x"])
def test_hostile_attribute_key_error_encodes(
    tenant_setup: TenantSetup, key: str
) -> None:
    """A lone surrogate or NUL in an attribute name gives a 400
    (``invalid_unicode`` from the strict reader for a surrogate,
    ``meter_event_invalid`` otherwise) whose body is valid UTF-8 JSON."""
    raw = json.dumps(make_event()).replace('"route"', f'"{key}"')
    code = "invalid_unicode" if "\\ud" in key else "meter_event_invalid"
    assert_error(_post_raw(tenant_setup.client, ATTEST, raw), 400, code)
    assert Bundle.objects.count() == 0


@pytest.mark.parametrize("kid", ["\\ud800", "k\\u0000id", "\\udfff\\ud800"])
def test_hostile_kid_in_envelope_error_encodes(
    tenant_setup: TenantSetup, kid: str
) -> None:
    """A lone surrogate or NUL in an envelope kid is a 400 or 401 with a JSON
    body that encodes; nothing is stored."""
    raw = json.dumps({"event": make_event(), "kid": "KID", "sig": "c2ln"}).replace(
        '"KID"', f'"{kid}"'
    )
    response = _post_raw(tenant_setup.client, ATTEST, raw)
    assert response.status_code in (400, 401), response.content
    assert_error(response, response.status_code, response.json()["error"]["code"])
    assert Bundle.objects.count() == 0 and MeterEvent.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/vdi/billing/bundles/rcpt_%00",
        "/api/vdi/billing/bundles/%00/proof",
        "/api/vdi/billing/bundles/rcpt_%ED%A0%80",
    ],
)
def test_odd_bytes_in_receipt_id_are_a_json_404(
    tenant_setup: TenantSetup, path: str
) -> None:
    """``%00`` or undecodable bytes in a receipt id answer a JSON 404."""
    response = tenant_setup.client.get(path)
    assert response.status_code == 404, response.content
    assert_error(response, 404, response.json()["error"]["code"])


@pytest.mark.parametrize("action", ["retire", "revoke"])
def test_nul_in_kid_url_is_a_json_404(tenant_setup: TenantSetup, action: str) -> None:
    """``%00`` in a meter key kid in the URL answers a JSON 404."""
    response = tenant_setup.client.post(
        f"/api/vdi/billing/meter-keys/ab%00cd/{action}", {}, format="json"
    )
    assert response.status_code == 404, response.content
    assert_error(response, 404, response.json()["error"]["code"])


@pytest.mark.parametrize(
    "path",
    ["/tlog/tile/entries/%00", "/tlog/tile/0/x%00/001", "/tlog/tile/0/000.p/%00"],
)
def test_nul_in_tile_path_is_a_404(db: Any, path: str) -> None:
    """Odd bytes in a tile path answer 404, as a static host would."""
    response = APIClient().get(path)
    assert response.status_code == 404, response.content


def test_nul_in_revocation_reason_is_refused(tenant_setup: TenantSetup) -> None:
    """A revocation reason PostgreSQL cannot store is a 400 on ``reason``."""
    from kernel.protocol.ed25519 import KeyPair, b64url_encode

    pair = KeyPair.generate()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes(pair.verify_key))}
    created = tenant_setup.client.post(
        "/api/vdi/billing/meter-keys", {"jwk": jwk}, format="json"
    )
    assert created.status_code == 201, created.content
    kid = created.json()["kid"]
    response = _post_raw(
        tenant_setup.client,
        f"/api/vdi/billing/meter-keys/{kid}/revoke",
        '{"reason": "bad\\u0000reason"}',
    )
    assert_error(response, 400, "revocation_input_invalid", "reason")
