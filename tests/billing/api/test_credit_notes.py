"""``GET /api/vdi/billing/credit-notes`` (list, newest first, by period) and
``…/credit-notes/<id>`` (the file), and the usage API's totals netting the
credit notes out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import BillingPeriod, Bundle, CreditNote
from billing.protocol.verify.credit_note import verify_credit_note
from billing.selectors import trust_anchors_get
from billing.services.credit_notes import credit_note_issue
from tests.billing.factories import BundleFactory
from tests.billing.support import TenantSetup, tenant_client

CREDIT_NOTES = "/api/vdi/billing/credit-notes"
USAGE = "/api/vdi/billing/usage"
#: The issue clock: June 2015 (the factory's events are of May 2015).
T0 = datetime(2015, 6, 3, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(django_capture_on_commit_callbacks: Any) -> Callable[..., CreditNote]:
    """Return ``issue(bundle, amount_minor, now=T0)``: a ``correction``
    credit note, sequenced (its on-commit callback runs)."""

    def run(bundle: Bundle, amount_minor: int, now: datetime = T0) -> CreditNote:
        with django_capture_on_commit_callbacks(execute=True):
            return credit_note_issue(
                bundle=bundle,
                amount_minor=amount_minor,
                reason_code="correction",
                reason_text="test",
                now=now,
            )

    return run


def test_list_is_newest_first_with_cursor_and_period_filter(
    tenant_setup: TenantSetup, issue: Callable[..., CreditNote]
) -> None:
    """Three credit notes come back newest first, two per page with a
    cursor; ``period`` keeps those that net into that month."""
    bundle = BundleFactory(tenant=tenant_setup.tenant, quantity=5)
    notes = [issue(bundle, -1, now=T0 + timedelta(minutes=i)) for i in range(3)]
    BillingPeriod.objects.filter(tenant=tenant_setup.tenant, period="2015-05").update(
        closed_at=T0
    )
    june = issue(bundle, -1, now=T0 + timedelta(minutes=9))
    first = tenant_setup.client.get(CREDIT_NOTES, {"limit": "2"}).json()
    assert [i["credit_note_id"] for i in first["data"]] == [
        june.credit_note_id,
        notes[2].credit_note_id,
    ]
    assert first["has_more"] is True
    item = first["data"][0]
    assert item["amount_minor"] == -1 and item["period"] == "2015-06"
    assert item["receipt_id"] == bundle.receipt_id
    assert item["reason_code"] == "correction"
    assert item["issued_at"] == "2015-06-03T09:09:00Z"
    assert item["url"].endswith(f"{CREDIT_NOTES}/{june.credit_note_id}")
    rest = tenant_setup.client.get(
        CREDIT_NOTES, {"limit": "2", "cursor": first["next_cursor"]}
    ).json()
    assert [i["credit_note_id"] for i in rest["data"]] == [
        notes[1].credit_note_id,
        notes[0].credit_note_id,
    ]
    assert rest["has_more"] is False and rest["next_cursor"] is None
    may = tenant_setup.client.get(CREDIT_NOTES, {"period": "2015-05"}).json()
    assert len(may["data"]) == 3


@pytest.mark.parametrize(
    "params, field",
    [
        ({"period": "2015-13"}, "period"),
        ({"limit": "0"}, "limit"),
        ({"window": "2015-05"}, "window"),
        ({"cursor": "nope"}, "cursor"),
    ],
)
def test_bad_list_parameter_is_a_400_naming_it(
    tenant_setup: TenantSetup, params: dict[str, str], field: str
) -> None:
    """Every bad parameter is a 400 with a stable code and its ``field``."""
    response = tenant_setup.client.get(CREDIT_NOTES, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] in ("invalid_parameter", "invalid_cursor")


def test_detail_is_the_verifiable_file_and_other_tenants_get_404(
    tenant_setup: TenantSetup, issue: Callable[..., CreditNote]
) -> None:
    """The detail answer is the credit-note file with log evidence; it
    verifies; another tenant's key and an unknown id get 404."""
    bundle = BundleFactory(tenant=tenant_setup.tenant, quantity=5)
    note = issue(bundle, -3)
    response = tenant_setup.client.get(f"{CREDIT_NOTES}/{note.credit_note_id}")
    assert response.status_code == 200
    document = response.json()
    assert document["format"] == "vdi-billing-credit-note/1"
    assert document["credit_note"]["amount_minor"] == -3
    assert "log" in document
    report = verify_credit_note(document, trust_anchors_get())
    assert report.ok, report.to_json()
    other = tenant_client("someone-else")
    missing = other.get(f"{CREDIT_NOTES}/{note.credit_note_id}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "credit_note_not_found"
    assert other.get(CREDIT_NOTES).json()["data"] == []
    unknown = tenant_setup.client.get(f"{CREDIT_NOTES}/cn_nope")
    assert unknown.json()["error"]["code"] == "credit_note_not_found"


def test_list_needs_an_api_key(db: Any) -> None:
    """Without credentials: 401."""
    assert APIClient().get(CREDIT_NOTES).status_code == 401


def _usage(setup: TenantSetup, group_by: str, start: str, end: str) -> Any:
    return setup.client.get(
        USAGE,
        {"metric": "api_requests", "group_by": group_by, "from": start, "to": end},
    ).json()


def test_usage_totals_net_out_by_issued_at_and_by_period(
    tenant_setup: TenantSetup, issue: Callable[..., CreditNote]
) -> None:
    """By day a credit sits on the day of its ``issued_at``; by window in the
    period it nets into (the original's while open, the next once closed);
    the totals net out either way."""
    bundle = BundleFactory(
        tenant=tenant_setup.tenant, quantity=5, occurred_at="2015-05-17T10:00:00Z"
    )
    assert bundle.amount_minor == 10
    issue(bundle, -4, now=T0)  # into 2015-05 (open), issued 2015-06-03
    BillingPeriod.objects.filter(tenant=tenant_setup.tenant, period="2015-05").update(
        closed_at=T0
    )
    issue(bundle, -6, now=T0 + timedelta(days=1))  # into 2015-06
    by_day = _usage(tenant_setup, "day", "2015-05-01T00:00:00Z", "2015-06-30T00:00:00Z")
    assert [
        (g["start"], g["amount_minor"], g["credit_amount_minor"], g["net_amount_minor"])
        for g in by_day["data"]
    ] == [
        ("2015-05-17T00:00:00Z", 10, 0, 10),
        ("2015-06-03T00:00:00Z", 0, -4, -4),
        ("2015-06-04T00:00:00Z", 0, -6, -6),
    ]
    assert by_day["total"]["net_amount_minor"] == 0
    by_window = _usage(
        tenant_setup, "window", "2015-05-01T00:00:00Z", "2015-07-01T00:00:00Z"
    )
    assert [
        (g["window"], g["events"], g["credit_amount_minor"], g["net_amount_minor"])
        for g in by_window["data"]
    ] == [("2015-05", 1, -4, 6), ("2015-06", 0, -6, -6)]
    assert by_window["total"] == {
        "quantity": 5,
        "amount_minor": 10,
        "events": 1,
        "credit_amount_minor": -10,
        "net_amount_minor": 0,
    }
    may_only = _usage(
        tenant_setup, "window", "2015-05-01T00:00:00Z", "2015-06-01T00:00:00Z"
    )
    assert may_only["total"]["net_amount_minor"] == 6
