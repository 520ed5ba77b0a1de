"""The attest API: happy path, idempotent retries, and every rejection code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from billing.models import ApiKey, Bundle, MeterEvent, ReplayReservation
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from billing.services.periods import billing_period_lock
from billing.services.tenants import api_key_revoke
from kernel.protocol.ed25519 import KeyPair
from tests.billing.factories import (
    MeterKeyFactory,
    SubscriptionFactory,
    TariffVersionFactory,
    TenantFactory,
)
from tests.billing.support import (
    ATTEST,
    TenantSetup,
    make_event,
    meter_envelope,
    tenant_client,
)
from tests.support.api import assert_error
from transparency.models import LogEntry

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return (
        ReplayReservation.objects.count() == 0
        and LogEntry.objects.count() == 0
        and Bundle.objects.count() == 0
        and MeterEvent.objects.count() == 0
    )


def test_bare_event_is_attested_and_verifies(tenant_setup: TenantSetup) -> None:
    """A bare event is signed by the server meter, priced, logged and verifies."""
    response = tenant_setup.client.post(ATTEST, make_event(quantity=3), format="json")
    assert response.status_code == 201, response.content
    assert response["Idempotent-Replayed"] == "false"
    bundle = response.json()
    att = bundle["attestation"]
    assert att["charge"] == {
        "quantity": 3,
        "amount_minor": 6,
        "currency": "USD",
        "tariff_hash": att["charge"]["tariff_hash"],
    }
    assert bundle["log"]["leaf_index"] == 0 and bundle["log"]["tree_size"] == 1
    report = verify_bundle(bundle, trust_anchors_get())
    assert report.ok, report.to_json()
    assert report.billing_check["expected_amount_minor"] == 6
    assert ReplayReservation.objects.get().status == "committed"


def test_retry_with_same_body_returns_same_bundle(tenant_setup: TenantSetup) -> None:
    """A retry is 200 with Idempotent-Replayed and the identical bundle; no new leaf."""
    event = make_event()
    first = tenant_setup.client.post(ATTEST, event, format="json")
    second = tenant_setup.client.post(ATTEST, event, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert LogEntry.objects.count() == 1 and Bundle.objects.count() == 1


def test_same_event_id_with_other_body_is_conflict(tenant_setup: TenantSetup) -> None:
    """Same (tenant, event_id, window), different quantity: 409 replay_conflict."""
    tenant_setup.client.post(ATTEST, make_event(quantity=1), format="json")
    response = tenant_setup.client.post(ATTEST, make_event(quantity=2), format="json")
    assert_error(response, 409, "replay_conflict", "event.event_id")
    assert LogEntry.objects.count() == 1 and Bundle.objects.count() == 1


def test_tenant_gateway_envelope_is_accepted(tenant_setup: TenantSetup) -> None:
    """An envelope signed by the tenant's registered meter key is attested as is."""
    gateway = MeterKeyFactory(tenant=tenant_setup.tenant).key_pair
    envelope = meter_envelope(gateway, make_event())
    response = tenant_setup.client.post(ATTEST, envelope, format="json")
    assert response.status_code == 201, response.content
    bundle = response.json()
    assert bundle["attestation"]["meter_envelope"] == envelope
    assert verify_bundle(bundle, trust_anchors_get()).ok


def test_envelope_from_unknown_meter_key_is_refused(tenant_setup: TenantSetup) -> None:
    """An envelope signed by an unregistered key: 401 unknown_kid, nothing stored."""
    envelope = meter_envelope(KeyPair.generate(), make_event())
    assert_error(
        tenant_setup.client.post(ATTEST, envelope, format="json"),
        401,
        "unknown_kid",
        "kid",
    )
    assert _nothing_stored()


def test_envelope_with_bad_signature_is_refused(
    tenant_setup: TenantSetup, test_keys: Any
) -> None:
    """A trusted kid with a signature over another event: 401 signature_invalid."""
    signed_other = meter_envelope(test_keys.meter, make_event(quantity=99))
    envelope = {**signed_other, "event": make_event()}
    assert_error(
        tenant_setup.client.post(ATTEST, envelope, format="json"),
        401,
        "signature_invalid",
        "sig",
    )
    assert _nothing_stored()


def test_gateway_key_cannot_sign_for_another_tenant(tenant_setup: TenantSetup) -> None:
    """A tenant's meter key signing an event of another tenant is refused (403)."""
    gateway = MeterKeyFactory(tenant=TenantFactory(slug="globex")).key_pair
    envelope = meter_envelope(gateway, make_event(tenant="acme"))
    assert_error(
        tenant_setup.client.post(ATTEST, envelope, format="json"),
        403,
        "tenant_mismatch",
    )
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_missing"),
        ({"HTTP_AUTHORIZATION": "Bearer mp_nope_nope"}, "api_key_invalid"),
        ({"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}, "api_key_missing"),
    ],
)
def test_missing_or_wrong_api_key_is_401(
    tenant_setup: TenantSetup, headers: dict[str, str], code: str
) -> None:
    """Without a valid Bearer key: 401 with WWW-Authenticate, nothing stored."""
    client = APIClient()
    response = client.post(ATTEST, make_event(), format="json", **headers)
    assert_error(response, 401, code, None)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert _nothing_stored()


def test_revoked_api_key_is_refused(tenant_setup: TenantSetup) -> None:
    """A revoked key no longer authenticates."""
    api_key_revoke(api_key=ApiKey.objects.get(tenant=tenant_setup.tenant))
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(), format="json"),
        401,
        "api_key_invalid",
    )


def test_api_key_is_stored_only_as_hash(tenant_setup: TenantSetup) -> None:
    """The database never holds the secret, only its SHA-256 and public prefix."""
    import hashlib

    row = ApiKey.objects.get(tenant=tenant_setup.tenant)
    assert tenant_setup.secret not in (row.key_hash, row.prefix)
    assert row.key_hash == hashlib.sha256(tenant_setup.secret.encode()).hexdigest()


@pytest.mark.parametrize(
    ("given", "code"),
    [(None, "attest_secret_missing"), ("wrong", "attest_secret_invalid")],
)
def test_attest_secret_is_required_when_set(
    tenant_setup: TenantSetup, settings: Any, given: str | None, code: str
) -> None:
    """With VDI_ATTEST_SECRET set, the X-VDI-Attest-Secret header must match."""
    settings.VDI_ATTEST_SECRET = "s3cret"
    extra = {"HTTP_X_VDI_ATTEST_SECRET": given} if given else {}
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(), format="json", **extra),
        401,
        code,
    )
    ok = tenant_setup.client.post(
        ATTEST, make_event(), format="json", HTTP_X_VDI_ATTEST_SECRET="s3cret"
    )
    assert ok.status_code == 201


def test_event_for_other_tenant_is_refused(tenant_setup: TenantSetup) -> None:
    """An API key may only attest its own tenant's events: 403 tenant_mismatch."""
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(tenant="globex"), format="json"),
        403,
        "tenant_mismatch",
        "event.tenant",
    )
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("age_seconds", "code"),
    [(36 * 86400, "event_too_old"), (-600, "event_in_future")],
)
def test_events_outside_the_window_are_refused(
    tenant_setup: TenantSetup, age_seconds: int, code: str
) -> None:
    """Older than 35 days or more than 5 minutes ahead: 422 with a clear code."""
    assert_error(
        tenant_setup.client.post(
            ATTEST, make_event(age_seconds=age_seconds), format="json"
        ),
        422,
        code,
        "event.occurred_at",
    )
    assert _nothing_stored()


def test_window_limits_are_configurable(
    tenant_setup: TenantSetup, settings: Any
) -> None:
    """VDI_BILLING_MAX_EVENT_AGE_SEC moves the late-event limit."""
    settings.VDI_BILLING_MAX_EVENT_AGE_SEC = 60
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(age_seconds=120), format="json"),
        422,
        "event_too_old",
    )


def test_no_tariff_in_force_is_422(
    tenant_setup: TenantSetup, tariff_version: Any
) -> None:
    """An event before every published version's effective_from: no_tariff_in_force."""
    SubscriptionFactory(
        tenant=tenant_setup.tenant,
        tariff=TariffVersionFactory(
            tariff__tariff_id="future-plan",
            version=1,
            effective_from=datetime(2099, 1, 1, tzinfo=UTC),
            published=True,
        ).tariff,
    )
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(), format="json"),
        422,
        "no_tariff_in_force",
        "event.occurred_at",
    )
    assert _nothing_stored()


def test_no_subscription_in_force_is_422(tenant_setup: TenantSetup) -> None:
    """A tenant whose only subscription starts in 2099 is refused with
    no_subscription on event.occurred_at (not put on the default plan), and
    nothing is stored."""
    SubscriptionFactory(
        tenant=tenant_setup.tenant, starts_at=datetime(2099, 1, 1, tzinfo=UTC)
    )
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(), format="json"),
        422,
        "no_subscription",
        "event.occurred_at",
    )
    assert _nothing_stored()


def test_metric_without_tariff_is_422(tenant_setup: TenantSetup) -> None:
    """A metric the tenant's tariff does not price: no_tariff_in_force on metric."""
    assert_error(
        tenant_setup.client.post(
            ATTEST, make_event(metric="gpu_seconds"), format="json"
        ),
        422,
        "no_tariff_in_force",
        "event.metric",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "3"}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 10**16}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 200}, "event_id"),
        ({"window": "2026-13"}, "window"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-11-21T10:00:00+01:00"}, "occurred_at"),
        ({"attributes": []}, "attributes"),
        ({"attributes": {"latency": 1.5}}, "attributes.latency"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_events_are_400(
    tenant_setup: TenantSetup, change: dict[str, Any], field: str
) -> None:
    """Wrong types, negative/huge quantities, bad ids and timestamps: 400 with the field."""
    event = make_event()
    event.update(change)
    assert_error(
        tenant_setup.client.post(ATTEST, event, format="json"),
        400,
        "meter_event_invalid",
        field,
    )
    assert _nothing_stored()


def test_missing_field_is_400(tenant_setup: TenantSetup) -> None:
    """A missing field is named."""
    event = make_event()
    del event["metric"]
    assert_error(
        tenant_setup.client.post(ATTEST, event, format="json"),
        400,
        "meter_event_invalid",
        "metric",
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "malformed_json"),
        ("[1, 2]", "application/json", 400, "bundle_format_invalid"),
        ("null", "application/json", 400, "bundle_format_invalid"),
        ("a=b", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_unparseable_bodies(
    tenant_setup: TenantSetup, body: str, content_type: str, status: int, code: str
) -> None:
    """Bodies that are not a JSON object get a JSON error, never a 500."""
    response = tenant_setup.client.generic(
        "POST", ATTEST, body, content_type=content_type
    )
    assert_error(response, status, code)
    assert _nothing_stored()


def test_oversize_body_is_413(tenant_setup: TenantSetup) -> None:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused with payload_too_large."""
    event = make_event(attributes={f"k{i}": "x" * 1000 for i in range(30)})
    body = json.dumps({**event, "padding": "y" * 70_000})
    response = tenant_setup.client.generic(
        "POST", ATTEST, body, content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")
    assert _nothing_stored()


def test_without_signing_keys_attest_is_503(
    tenant_setup: TenantSetup, settings: Any
) -> None:
    """A server without keys says so (503 signing_keys_unconfigured), never 500."""
    settings.VDI_SIGNING_KEY = ""
    assert_error(
        tenant_setup.client.post(ATTEST, make_event(), format="json"),
        503,
        "signing_keys_unconfigured",
    )
    assert _nothing_stored()


def test_get_is_405(tenant_setup: TenantSetup) -> None:
    """Attest only accepts POST."""
    assert_error(tenant_setup.client.get(ATTEST), 405, "method_not_allowed")


def test_bundle_fetch_is_scoped_to_tenant(tenant_setup: TenantSetup) -> None:
    """A tenant fetches its own bundles by receipt id; others get 404."""
    bundle = tenant_setup.client.post(ATTEST, make_event(), format="json").json()
    receipt = bundle["attestation"]["receipt"]["receipt_id"]
    assert (
        tenant_setup.client.get(f"/api/vdi/billing/bundles/{receipt}").json() == bundle
    )
    assert_error(
        tenant_client("globex").get(f"/api/vdi/billing/bundles/{receipt}"),
        404,
        "bundle_not_found",
    )


def test_unknown_api_route_is_json_404(client: Any) -> None:
    """Unknown API paths answer JSON, not an HTML page."""
    assert_error(client.get("/api/vdi/billing/nope"), 404, "not_found")


def test_batch_attest_reports_each_event(tenant_setup: TenantSetup) -> None:
    """The batch endpoint attests valid events and reports per-event errors."""
    events = [make_event(event_id=f"b{i}") for i in range(3)] + [
        {**make_event(event_id="neg"), "quantity": -1}
    ]
    response = tenant_setup.client.post(
        ATTEST + "/batch", {"events": events}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["attested"], body["replayed"], body["rejected"]) == (3, 0, 1)
    assert body["results"][3]["error"]["code"] == "meter_event_invalid"
    trust = trust_anchors_get()
    assert all(verify_bundle(r["bundle"], trust).ok for r in body["results"][:3])
    again = tenant_setup.client.post(
        ATTEST + "/batch", {"events": events[:3]}, format="json"
    ).json()
    assert again["replayed"] == 3 and LogEntry.objects.count() == 3


@pytest.mark.parametrize(
    "body", [{}, {"events": []}, {"events": "x"}, {"events": [{}] * 101}]
)
def test_batch_shape_is_checked(
    tenant_setup: TenantSetup, body: dict[str, Any]
) -> None:
    """events must be a list of 1-100 items."""
    assert_error(
        tenant_setup.client.post(ATTEST + "/batch", body, format="json"),
        400,
        "bundle_format_invalid",
        "events",
    )
    assert _nothing_stored()


def test_batch_needs_an_api_key(tenant_setup: TenantSetup) -> None:
    """The batch endpoint authenticates like the single one."""
    assert_error(
        APIClient().post(ATTEST + "/batch", {"events": [make_event()]}, format="json"),
        401,
        "api_key_missing",
    )


def test_attest_issues_numbered_v3_bundles(tenant_setup: TenantSetup) -> None:
    """The server issues ``vdi-billing/3``: single and batch attests are
    numbered 1, 2, 3 in the tenant's period (the event window) and verify."""
    first = tenant_setup.client.post(ATTEST, make_event(event_id="e1"), format="json")
    assert first.status_code == 201, first.content
    bundle = first.json()
    window = bundle["attestation"]["meter_envelope"]["event"]["window"]
    assert bundle["format"] == bundle["attestation"]["format"] == "vdi-billing/3"
    assert bundle["attestation"]["sequence"] == {"period": window, "number": 1}
    batch = tenant_setup.client.post(
        ATTEST + "/batch",
        {"events": [make_event(event_id="e2"), make_event(event_id="e3")]},
        format="json",
    ).json()
    numbers = [
        r["bundle"]["attestation"]["sequence"]["number"] for r in batch["results"]
    ]
    assert numbers == [2, 3]
    trust = trust_anchors_get()
    assert all(verify_bundle(r["bundle"], trust).ok for r in batch["results"])


def test_closed_period_is_409_period_closed(tenant_setup: TenantSetup) -> None:
    """An attest into a closed period is 409 ``period_closed`` (field
    ``event.window``) and stores nothing; in a batch only that event is
    refused."""
    event = make_event(event_id="late")
    with transaction.atomic():
        period = billing_period_lock(tenant=tenant_setup.tenant, period=event["window"])
        period.closed_at = datetime.now(UTC)
        period.save(update_fields=["closed_at"])
    response = tenant_setup.client.post(ATTEST, event, format="json")
    assert_error(response, 409, "period_closed", "event.window")
    assert _nothing_stored()
    batch = tenant_setup.client.post(
        ATTEST + "/batch", {"events": [event]}, format="json"
    )
    assert batch.status_code == 200, batch.content
    result = batch.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "period_closed"
    assert _nothing_stored()
